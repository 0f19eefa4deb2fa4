// Which dropped / picked files join the batch: photos only, at most MAX_PER_DROP at a time,
// and never more than the plan's batch limit in all (several drops grow one batch).

export const ACCEPTED_TYPES = ["image/jpeg", "image/png", "image/webp"];
/** Files one drop or one picker selection may add: a seller picks a product's photos, not a folder. */
export const MAX_PER_DROP = 9;

export interface Intake<F> {
  /** The files to add, in the order given. */
  added: F[];
  /** Names of the files that are not JPEG / PNG / WEBP. */
  badType: string[];
  /** Photos past the first MAX_PER_DROP of this drop. */
  overDrop: number;
  /** Photos that did not fit in the batch (plan limit). */
  overBatch: number;
}

export function takeFiles<F extends { name: string; type: string }>(
  incoming: readonly F[],
  inBatch: number,
  maxBatch: number,
  perDrop = MAX_PER_DROP,
): Intake<F> {
  const badType: string[] = [];
  const photos = incoming.filter((file) => {
    if (ACCEPTED_TYPES.includes(file.type)) return true;
    badType.push(file.name);
    return false;
  });
  const thisDrop = photos.slice(0, perDrop);
  const room = Math.max(0, maxBatch - inBatch);
  return {
    added: thisDrop.slice(0, room),
    badType,
    overDrop: photos.length - thisDrop.length,
    overBatch: Math.max(0, thisDrop.length - room),
  };
}
