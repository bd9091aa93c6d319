// aws-local-stepfunctions 3.0.0 calls Promise.withResolvers (ES2024, Node >= 22) for every Task
// state's timeout; Node 20 lacks it and every run would fail with "Promise.withResolvers is not a
// function". This installs the standard behaviour once, only where it is missing. Import it before
// running any state machine.
interface PromiseWithResolversResult<T> {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
}

const promiseConstructor = Promise as unknown as { withResolvers?: <T>() => PromiseWithResolversResult<T> };

if (typeof promiseConstructor.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>(): PromiseWithResolversResult<T> {
      let resolve!: PromiseWithResolversResult<T>['resolve'];
      let reject!: PromiseWithResolversResult<T>['reject'];
      const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
      return { promise, resolve, reject };
    },
  });
}

export {};
