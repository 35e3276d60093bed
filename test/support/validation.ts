/** For tests of what a pipeline (or its input) is refused with. */
import { PipelineValidationError } from '../../common/pipeline';

/** The PipelineValidationError `fn` throws; fails the test when it throws nothing or something else. */
export function rejection(fn: () => unknown): PipelineValidationError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PipelineValidationError) return err;
    throw err;
  }
  throw new Error('expected a PipelineValidationError, but nothing was thrown');
}
