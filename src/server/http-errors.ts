// One error type for every refusal the server answers: the status code and a message that names
// the field and the reason. Nothing is started or changed once one of these is thrown.
export class HttpError extends Error {
  constructor(
    readonly statusCode: 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 503,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}
