/**
 * `T` without undefined values: a field that may be undefined becomes optional and not undefined, the others stay
 * as they are.
 */
export type WithoutUndefined<T extends object> = Flatten<
  { [K in keyof T as undefined extends T[K] ? never : K]: T[K] } & {
    [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined>;
  }
>;

type Flatten<T> = { [K in keyof T]: T[K] };

/**
 * The object without its undefined fields, so that a spread of it, or defaults applied to it, keep the values it
 * does not set.
 */
export function withoutUndefined<T extends object>(value: T): WithoutUndefined<T> {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as WithoutUndefined<T>;
}
