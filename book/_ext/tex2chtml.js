// Typeset TeX into MathJax 3's CommonHTML at build time (book/_ext/descent_math.py runs this).
//
// Reads one JSON request per line on stdin and answers each with one JSON line on stdout:
//   {"tex": "...", "display": true}  ->  {"html": "<mjx-container ...>", "errors": []}
//   {"batch": [{"tex": ..., "display": ...}, ...]}  ->  {"batch": [{"html": ..., "errors": ...}, ...]}
//   {"stylesheet": true}             ->  {"css": "..."}  (every glyph of MathJax's TeX font)
// If MathJax cannot start, the one line written is {"fatal": "why"}.
// Each formula carries its MathML for screen readers (MathJax's assistive-mml), as it did when
// MathJax ran in the reader's browser. A TeX error, or a control sequence TeX does not know, is
// reported in "errors" (the build stops on it) rather than drawn in red on the page.
// argv[2]: the URL of the folder of MathJax's woff-v2 fonts, as the stylesheet should name it.
"use strict";
const readline = require("readline");

const fontURL = process.argv[2] || "fonts/woff-v2";
let errors = [];
// stdout carries only the answers: MathJax's own notices go to stderr
console.log = console.error;
// why MathJax's loader could not load a component, for the {"fatal": ...} answer
let loadFailure = null;

require("mathjax")
  .init({
    loader: {
      load: ["input/tex", "output/chtml", "adaptors/liteDOM", "a11y/assistive-mml"],
      failed(error) {
        loadFailure = `${error.package || "a component"}: ${error.message}`;
      },
    },
    tex: {
      packages: { "[+]": ["ams"], "[-]": ["noundefined"] },
      formatError(jax, error) {
        errors.push(error.message);
        return jax.formatError(error);
      },
    },
    // the rules of every glyph (descent_math.py keeps those the site's pages use); a formula's
    // size follows its text's x-height by a rule descent_math.py adds, as matchFontHeight did
    chtml: { fontURL, adaptiveCSS: false, matchFontHeight: false },
    startup: { typeset: false },
  })
  .then((MathJax) => {
    const adaptor = MathJax.startup.adaptor;
    // MathJax's synchronous call, which throws a retry when TeX needs an extension it loads on
    // demand (\boldsymbol, \cancel): wait for the extension, then typeset again.
    async function typeset(tex, display) {
      errors = [];
      for (;;) {
        try {
          const node = MathJax.tex2chtml(tex, { display: Boolean(display) });
          return { html: adaptor.outerHTML(node), errors };
        } catch (error) {
          if (error && error.retry) {
            await error.retry;
            errors = [];
            continue;
          }
          return { html: "", errors: [String(error && error.message ? error.message : error)] };
        }
      }
    }
    const input = readline.createInterface({ input: process.stdin, terminal: false });
    let queue = Promise.resolve();
    input.on("line", (line) => {
      queue = queue.then(async () => {
        const request = JSON.parse(line);
        let reply;
        if (request.stylesheet) {
          reply = { css: adaptor.textContent(MathJax.chtmlStylesheet()) };
        } else if (request.batch) {
          reply = { batch: [] };
          for (const one of request.batch) reply.batch.push(await typeset(one.tex, one.display));
        } else {
          reply = await typeset(request.tex, request.display);
        }
        process.stdout.write(JSON.stringify(reply) + "\n");
      });
    });
  })
  .catch((error) => {
    // the answer to whatever was asked: descent_math.py raises it with this message
    const why = loadFailure || String(error && error.message ? error.message : error);
    process.stdout.write(JSON.stringify({ fatal: why }) + "\n");
    process.exit(1);
  });
