#!/usr/bin/env node
// Sets the release an overlay deploys: every shop/<service> image's tag and the
// app.kubernetes.io/version label, in overlays/<overlay>/kustomization.yaml (comments kept).
// CI runs it after pushing the images, then commits the change (or applies it):
//
//   node kustomize/scripts/set-release.mjs --overlay dev --tag "0.1.0-main.$(git rev-parse --short HEAD)"
//   node kustomize/scripts/set-release.mjs --overlay production --tag 1.4.0
//
// Only immutable tags are accepted: a semantic version (a pre-release part may name the commit)
// that CI never pushes twice. A moving tag such as `main` lets a node keep running the image it
// cached under that name (imagePullPolicy IfNotPresent).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const IMMUTABLE_TAG = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

export function setRelease(text, tag) {
  if (!IMMUTABLE_TAG.test(tag)) throw new Error(`not an immutable release tag: ${tag} (expected a version like 1.4.0 or 0.1.0-main.1a2b3c4)`);
  const lines = text.split('\n');
  let image;
  let images = 0;
  let labels = 0;
  for (let i = 0; i < lines.length; i += 1) {
    const item = /^ {2}- name: (\S+)$/.exec(lines[i]);
    if (item) image = item[1];
    else if (/^\S/.test(lines[i])) image = undefined;
    if (image?.startsWith('shop/') && /^ {4}newTag: /.test(lines[i])) {
      lines[i] = `    newTag: "${tag}"`;
      images += 1;
    }
    if (/^ {6}app\.kubernetes\.io\/version: /.test(lines[i])) {
      lines[i] = `      app.kubernetes.io/version: ${tag}`;
      labels += 1;
    }
  }
  if (images === 0 || labels !== 1) throw new Error(`found ${images} shop/ image tags and ${labels} version labels; expected some and one`);
  return { text: lines.join('\n'), images };
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  try {
    const args = process.argv.slice(2);
    const value = (flag) => args[args.indexOf(flag) + 1];
    if (!args.includes('--tag') || !(args.includes('--overlay') || args.includes('--file')))
      throw new Error('usage: set-release.mjs --overlay <dev|staging|production> --tag <version>  (or --file <kustomization.yaml>)');
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
    const file = args.includes('--file') ? value('--file') : path.join(root, 'overlays', value('--overlay'), 'kustomization.yaml');
    const { text, images } = setRelease(readFileSync(file, 'utf8'), value('--tag'));
    writeFileSync(file, text);
    process.stderr.write(`set-release: ${file}: ${images} images and the version label at ${value('--tag')}\n`);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  }
}
