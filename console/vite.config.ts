import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The console is served by Roster at /console (src/console/console.ts) from dist/console-app:
// content-hashed files under assets/ (cached for a year) and index.html (revalidated).
export default defineConfig({
  root: import.meta.dirname,
  base: '/console/',
  plugins: [react()],
  logLevel: 'warn',
  build: {
    outDir: '../dist/console-app',
    emptyOutDir: true,
    // No inline script: the page's Content-Security-Policy allows scripts from Roster only.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    target: 'es2022',
    reportCompressedSize: false,
  },
});
