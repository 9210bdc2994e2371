import { NotFoundError, VersionConflictError } from '../errors.ts'

/**
 * The optimistic lock every edit and delete goes through: the row must exist
 * and, when the client said which version its change was based on, still be
 * at that version.
 */
export function assertVersion<T extends { version: number }>(resource: 'incident' | 'area', id: number, current: T | undefined, expected: number | undefined): asserts current is T {
  if (!current) throw new NotFoundError(resource, id)
  if (expected !== undefined && expected !== current.version) throw new VersionConflictError(resource, id, expected, current.version)
}
