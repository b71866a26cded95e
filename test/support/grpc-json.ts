// gRPC methods with JSON messages, for tests: real gRPC framing, metadata,
// status trailers and deadlines (@grpc/grpc-js) without a .proto file.
import type * as grpc from '@grpc/grpc-js';

const serialize = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
const deserialize = (b: Buffer): unknown => JSON.parse(b.toString('utf8'));

/** The definition of `/<service>/<name>`. */
export function jsonMethod(service: string, name: string, requestStream: boolean, responseStream: boolean): grpc.MethodDefinition<unknown, unknown> {
  return {
    path: `/${service}/${name}`,
    requestStream,
    responseStream,
    requestSerialize: serialize,
    requestDeserialize: deserialize,
    responseSerialize: serialize,
    responseDeserialize: deserialize,
  };
}
