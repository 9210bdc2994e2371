import { Type, type Static } from 'typebox'

/** GET /api/client-config: what the dashboard needs before anyone signs in (the base map). */
export const ClientConfig = Type.Object({ tileUrl: Type.String(), tileAttribution: Type.String() })
export type ClientConfig = Static<typeof ClientConfig>
