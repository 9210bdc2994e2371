/**
 * Errors the repositories and the request parsers throw; the HTTP error handler maps them to
 * problem responses. Each names the field and value it refuses.
 */
export class NotFoundError extends Error {
  readonly statusCode = 404
  constructor(readonly resource: string, readonly id: number | string) {
    super(`${resource} ${id} does not exist`)
  }
}

export class VersionConflictError extends Error {
  readonly statusCode = 409
  constructor(readonly resource: string, readonly id: number, readonly expected: number, readonly actual: number) {
    super(`${resource} ${id} is at version ${actual}, not ${expected}: reload it and apply your change again`)
  }
}

export class InvalidFieldError extends Error {
  readonly statusCode = 400
  constructor(
    readonly field: string,
    readonly value: unknown,
    message: string,
    /** which part of the request: body, querystring, headers */
    readonly part = 'body',
  ) {
    super(message)
  }
}

/**
 * A geometry PostGIS finds invalid: `message` is PostGIS's reason, `words` the
 * same for the person who drew it, `location` where ([lon, lat]), e.g. where
 * the outline crosses itself.
 */
export class InvalidGeometryError extends InvalidFieldError {
  constructor(field: string, value: unknown, message: string, readonly words: string, readonly location: [number, number] | undefined) {
    super(field, value, message)
  }
}

export class ConflictError extends Error {
  readonly statusCode = 409
  constructor(readonly field: string, readonly value: unknown, message: string) {
    super(message)
  }
}
