// Lambda runs Node 24; local tools on Node 20 need not hear the SDK's notice about future Node versions.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
