/**
 * `make`, run once per argument object and remembered while that object lives. For values derived
 * from the rows the SQLite read path keeps between requests (store/read-snapshot.ts): the same row or
 * list comes back on every request until the store changes, and a changed store hands out new ones.
 */
export function oncePerObject<K extends object, V>(make: (key: K) => V): (key: K) => V {
  const made = new WeakMap<K, V>();
  return (key) => {
    let v = made.get(key);
    if (v === undefined) made.set(key, (v = make(key)));
    return v;
  };
}
