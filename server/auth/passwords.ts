import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto'
import { PASSWORD_LENGTH } from '../../contracts/user-admin.ts'

// scrypt is memory-hard and ships with Node. N=2^15, r=8 costs 32 MiB and
// enough CPU per hash to slow a guesser down, while a sign-in stays quick.
// Parameters are stored with the hash, so they can be raised later without
// invalidating existing passwords.
const N = 2 ** 15
const R = 8
const P = 1
const KEY_LENGTH = 32
const MAX_MEM = 64 * 1024 * 1024

export const MIN_PASSWORD_LENGTH = PASSWORD_LENGTH.min
export const MAX_PASSWORD_LENGTH = PASSWORD_LENGTH.max

function scrypt(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(password, salt, keylen, options, (error, key) => (error ? reject(error) : resolve(key))),
  )
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await scrypt(password, salt, KEY_LENGTH, { N, r: R, p: P, maxmem: MAX_MEM })
  return ['scrypt', N, R, P, salt.toString('base64'), key.toString('base64')].join('$')
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split('$')
  if (scheme !== 'scrypt' || !salt || !key) return false
  const expected = Buffer.from(key, 'base64')
  const actual = await scrypt(password, Buffer.from(salt, 'base64'), expected.length, {
    N: Number(n), r: Number(r), p: Number(p), maxmem: MAX_MEM,
  })
  return timingSafeEqual(actual, expected)
}

/**
 * Hashed once per process and verified against when a username is unknown, so
 * "no such user" takes as long as "wrong password" and the two can't be told apart.
 */
let dummyHash: Promise<string> | undefined
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'))
  return dummyHash
}

export function generatePassword(): string {
  return randomBytes(15).toString('base64url')
}
