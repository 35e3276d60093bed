/**
 * The failure converter Sluice uses when payloads are encrypted: a failure's message and stack
 * trace move into `encodedAttributes`, a payload, so the codec encrypts them like everything else
 * (the failure proto itself then says "Encoded failure"). The SDK's DefaultFailureConverter leaves
 * them in clear unless told otherwise. Loaded by path (DataConverter.failureConverterPath) on the
 * worker, the client and inside the workflow bundle: imports nothing but @temporalio/common.
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
