# Environment for talking to the local Sluice stack (bash infra/local/stack.sh up).
# Usage: source infra/local/env.sh   — values already set in your shell are kept.
# shellcheck shell=bash
: "${TEMPORAL_ADDRESS:=127.0.0.1:${SLUICE_TEMPORAL_PORT:-7233}}"
: "${TEMPORAL_NAMESPACE:=default}"
: "${AWS_ENDPOINT_URL:=http://127.0.0.1:${SLUICE_GATEWAY_PORT:-4566}}"
: "${AWS_REGION:=us-east-1}"
: "${AWS_ACCESS_KEY_ID:=testing}"
: "${AWS_SECRET_ACCESS_KEY:=testing}"
# Push completion: the queue the local EventBridge rule fills (created by the gateway). Workers with
# it set wait for jobs' state-change events instead of polling; SLUICE_EVENTS=off turns that off.
: "${SLUICE_EVENTS_QUEUE_URL:=http://127.0.0.1:${SLUICE_MOTO_PORT:-5077}/123456789012/sluice-stage-events}"
export TEMPORAL_ADDRESS TEMPORAL_NAMESPACE AWS_ENDPOINT_URL AWS_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY SLUICE_EVENTS_QUEUE_URL
