/** One page of a Kubernetes list, as client-node returns it. */
export interface ListPage<T> {
  items: T[];
  metadata?: { resourceVersion?: string; _continue?: string };
}

/**
 * Objects per page of a list; client-go's reflector pages its lists the same way. A worker starting on a cluster
 * of 30,000 pods then holds one page of full objects at a time, not the whole answer (over 100 MB of JSON).
 */
export const LIST_PAGE_SIZE = 500;
/** A list that still has a next page after this many (a million objects at 500) is refused rather than followed. */
export const MAX_LIST_PAGES = 2000;

/**
 * Lists every object in pages of `limit`, slimming each page before asking for the next, and returns the list's
 * resourceVersion (every page of one list is served from the same snapshot, so the first page's is the list's). A
 * continue token that expired mid-way fails the whole list, which the informer retries from the start.
 */
export async function listInPages<T>(
  page: (opts: { limit: number; _continue?: string }) => Promise<ListPage<T>>,
  slim: (obj: T) => T,
  limit = LIST_PAGE_SIZE,
): Promise<{ items: T[]; metadata: { resourceVersion?: string } }> {
  const items: T[] = [];
  let resourceVersion: string | undefined;
  let next: string | undefined;
  let pages = 0;
  do {
    if (++pages > MAX_LIST_PAGES)
      throw new Error(`the list did not end after ${MAX_LIST_PAGES} pages of ${limit}; refusing to hold more`);
    const res = await page({ limit, ...(next && { _continue: next }) });
    resourceVersion ??= res.metadata?.resourceVersion;
    for (const obj of res.items) items.push(slim(obj));
    next = res.metadata?._continue || undefined;
  } while (next);
  return { items, metadata: { ...(resourceVersion !== undefined && { resourceVersion }) } };
}
