import { invalid } from './errors';
import { refusePrivateKey } from './keys/privateKey';

/** Products a resource can be. */
export const RESOURCE_TYPES = [
  'instance',
  'private-network',
  'kubernetes-cluster',
  'flexible-ip',
  'load-balancer',
  'database',
  'object-bucket',
] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

/** Regions (`fr-par`) and zones (`fr-par-1`). */
const LOCATION = /^[a-z]{2}-[a-z]{3}(-[1-9])?$/;
const RESOURCE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/**
 * What was typed, quoted back in a refusal: never a control character or line separator (they would
 * break a log line or forge one), so such text is not repeated at all.
 */
const echo = (raw: string): string =>
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(raw) ? 'That' : `\`${raw.slice(0, 40)}\``;

export function validateResourceType(raw: string): ResourceType {
  const type = raw.trim().toLowerCase();
  if (!(RESOURCE_TYPES as readonly string[]).includes(type)) {
    throw invalid(
      `${echo(raw)} is not a resource type. Types: ${RESOURCE_TYPES.map((t) => `\`${t}\``).join(', ')}.`,
    );
  }
  return type as ResourceType;
}

export function validateResourceName(raw: string): string {
  refusePrivateKey(raw);
  const name = raw.trim();
  if (!RESOURCE_NAME.test(name)) {
    throw invalid(
      'A resource name is 1 to 63 letters, digits, `.`, `_` or `-`, starting with a letter or digit (for example `web-1`).',
    );
  }
  return name;
}

export function validateLocation(raw: string): string {
  const location = raw.trim().toLowerCase();
  if (!LOCATION.test(location)) {
    throw invalid(
      `${echo(raw)} is not a zone or region. Use a zone such as \`fr-par-1\`, \`nl-ams-2\`, \`pl-waw-1\` or a region such as \`fr-par\`.`,
    );
  }
  return location;
}
