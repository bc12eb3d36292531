import { readFileSync } from 'node:fs';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

/**
 * The console's documents by hash (from `npm run codegen`), written next to the page for the
 * server, which runs no other document for the console's application (src/console/console.ts).
 */
function trustedDocuments(): Plugin {
  return {
    name: 'roster-trusted-documents',
    generateBundle() {
      this.emitFile({
        type: 'asset',
        fileName: 'trusted-documents.json',
        source: readFileSync(new URL('src/generated/persisted-documents.json', import.meta.url), 'utf8'),
      });
    },
  };
}

// The console is served by Roster at /console (src/console/console.ts) from dist/console-app:
// content-hashed files under assets/ (cached for a year) and index.html (revalidated).
export default defineConfig({
  root: import.meta.dirname,
  base: '/console/',
  plugins: [react(), trustedDocuments()],
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
