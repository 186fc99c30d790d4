// What test/integration/global-setup.ts hands every integration test through vitest's inject().
declare module 'vitest' {
  export interface ProvidedContext {
    /** host:port of the Temporal dev server (namespace `default`). */
    temporalAddress: string;
    /** Admin kubeconfig for the local control plane (127.0.0.1, token auth). */
    kubeconfigPath: string;
    /** The run's state directory; tests may create scratch files below it. */
    stackDir: string;
  }
}
export {};
