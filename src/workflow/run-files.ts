/**
 * The names of the files a run keeps under its prefix in the work bucket (RunStore). A module of their own: each
 * step reads files another step wrote, and taking their names from that step would tie the steps into a circle.
 */
export const RUN_FILES = {
  summary: 'summary.json',
  /** Written before the inspection is created: a later attempt knows that one may exist. */
  inspectionRequested: 'inspection-requested.json',
  /** Written as soon as the inspection is created, before anything else can fail. */
  inspection: 'inspection.json',
  prepared: 'prepared.json',
  processingStart: 'processing-start.json',
  /** Written once the outcome is published: a retried "Notify" step does not publish it again. */
  notified: 'notified.json',
} as const;

/** The photos one copy invocation takes: each chunk has its own list, so a copy reads only its own. */
export const chunkImagesName = (index: number) => `images-${index}.json`;
