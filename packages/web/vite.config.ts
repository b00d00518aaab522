import { defineConfig } from 'vite';

// The pages run under a strict Content-Security-Policy (script-src 'self', no inline code, no data:
// URLs), so the build must emit only files: no inlined assets, no inline module-preload polyfill.
export default defineConfig({
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  server: {
    // `npm run dev -w @coffer/web` serves the UI with live reload and sends API calls to a running server.
    proxy: { '/api': 'http://127.0.0.1:11200' },
  },
});
