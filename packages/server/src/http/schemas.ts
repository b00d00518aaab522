import { Type } from 'typebox';

/** Coffer's own error body. */
export const ErrorBody = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  }),
});

/** Error responses every authenticated route may give; declared so the OpenAPI document lists them. */
export const authErrors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 429: ErrorBody };

export const Millis = Type.Integer({ description: 'epoch milliseconds' });
export const NullableMillis = Type.Union([Type.Integer(), Type.Null()], {
  description: 'epoch milliseconds, or null',
});
