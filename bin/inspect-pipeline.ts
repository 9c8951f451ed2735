#!/usr/bin/env node
import { buildApp } from '../lib/app';

// Env-agnostic on purpose: synth needs no account or credentials; `cdk deploy` picks the target from the profile.
buildApp();
