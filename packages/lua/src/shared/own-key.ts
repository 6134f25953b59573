/**
 * Sets `key` on `target` as an own, enumerable data property. Plain assignment would make a
 * key `__proto__` the object's prototype; policies and clients use it as an ordinary key.
 */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(target, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  else target[key] = value;
}
