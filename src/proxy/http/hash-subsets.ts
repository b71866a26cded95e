// ingress-nginx's upstream-hash-by-subset: the endpoints cut into subsets of
// `size` (the last one filled up with endpoints from the start, so every
// subset has `size` members), a key hashed to a subset on a consistent ring
// of subset names, then a random member of it. A key keeps its subset while
// the set is unchanged, spreading its requests over `size` endpoints instead
// of one. Pure: the caller gives the members in a stable order.

export function hashSubsets(count: number, size: number): number[][] {
  if (count === 0) return [];
  const sets = Math.ceil(count / size);
  const out: number[][] = [];
  let k = 0;
  for (let s = 0; s < sets; s++) {
    const subset: number[] = [];
    for (let i = 0; i < size; i++) subset.push(k++ % count);
    out.push(subset);
  }
  return out;
}
