/**
 * What one member, one token or one project may reach. Every path that creates something checks the
 * same number here, so a command, a form, an approval and the key route cannot disagree.
 */

/** Pending key requests one person may have open in one project. */
export const MAX_PENDING_REQUESTS_PER_REQUESTER = 5;

/** New instances one delivery token may register in a minute (check-ins of known instances are free). */
export const MAX_REGISTRATIONS_PER_TOKEN_PER_MINUTE = 30;
