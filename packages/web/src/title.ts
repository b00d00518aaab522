import { useEffect } from 'preact/hooks';

/** Names the page in the browser tab ("Profile — Coffer"), so tabs and history entries can be told apart. */
export function useTitle(page: string): void {
  useEffect(() => {
    document.title = `${page} — Coffer`;
  }, [page]);
}
