// docs/labs.md, made from the labs' own guides (the same text `multiproc demo <lab> --help` prints), so that
// the page and the command never disagree. Written by `npm run docs:labs`; test/labs.test.ts checks it is current.
import { labs } from './index.js';

const INTRO = `# The labs

\`multiproc demo <lab>\` runs one of the labs below for real: processes are forked, signalled, stopped, put in
namespaces, and the lab shows what happened (a narrative with live process tables from /proc, the course
text's diagrams filled in with real pids) and says whether it showed what it claims. Every lab leaves no
process, fd or shared memory behind, also when interrupted with Ctrl-C.

The first fourteen are the programs of the course text, in its order; \`signals\`, \`namespaces\` and \`scaling\`
go on to what the text discusses next (signals as messages, containers as the alternative to plain
processes, load balancing and scalability).

\`\`\`sh
npx multiproc demo                        # the list
npx multiproc demo zombie                 # run one
npx multiproc demo zombie --help          # this page's section for it
npx multiproc demo zombie --hold 30000    # pause 30 s at the key moment; it prints the ps command to run meanwhile
npx multiproc demo zombie --svg z.svg     # the picture: a lane per process over time (scaling: a plot)
npx multiproc demo zombie --json          # the facts it established, for graders
npx tsx examples/zombie.ts                # the same program as a short listing (examples/)
\`\`\`

\`--hold MS\` (or the environment variable \`MULTIPROC_LAB_HOLD_MS\`) stops at the lab's key moment — the
zombie present, the orphan adopted, the deadlock formed, the process stopped, the container running — so that
you can look from another shell with \`ps\`, \`/proc\`, \`strace -p\` or \`nsenter\`. Ctrl-C ends the lab there and
cleans up.

In the pictures every label is measured (DejaVu Sans) and placed in rows above the lane it belongs to, so no
two labels overlap; the tests check that on the SVG of every lab. Times are taken by the process that did the
thing (CLOCK_MONOTONIC, one clock for all processes).

The \`strace -f\` lines show the system calls to look for (\`<lab>\`, \`<child>\` … stand for the pids). Run
\`npm run build:ts\` first in a checkout, or use the installed \`multiproc\`.
`;

export function labsMarkdown(): string {
  const out = [INTRO];
  out.push('| Lab | What it shows |\n| --- | --- |');
  out.push(labs.map((l) => `| [${l.name}](#${l.name}) | ${l.summary} |`).join('\n'));
  for (const l of labs) {
    const g = l.guide;
    out.push(`\n## ${l.name}\n`);
    out.push(`${l.summary}.\n\n**Claim:** ${l.claim}.\n`);
    out.push(`\`\`\`sh\nnpx multiproc demo ${l.name} --svg ${l.name}.svg${g.hold ? `\nnpx multiproc demo ${l.name} --hold 30000` : ''}\n\`\`\`\n`);
    out.push('**What to look for**\n');
    out.push(g.lookFor.map((x) => `- ${x}`).join('\n') + '\n');
    if (g.hold) out.push(`**Hold it** (\`--hold MS\`): ${g.hold}\n`);
    out.push('**Its system calls**\n');
    out.push(`\`\`\`sh\n${g.strace.command}\n\`\`\`\n`);
    out.push('```\n' + g.strace.lines.join('\n') + '\n```\n');
    out.push('**Questions**\n');
    out.push(g.questions.map((q, i) => `${i + 1}. ${q}`).join('\n') + '\n');
  }
  return out.join('\n');
}
