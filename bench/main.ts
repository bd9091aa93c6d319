// npm run bench [-- options]: the copier against cp -a and rsync -a (run.ts);
// npm run bench -- api [options]: the API Lambda's bundle size and cold import (api-cold-import.ts).
if (process.argv[2] === 'api') await import('./api-cold-import.ts');
else await import('./run.ts');
