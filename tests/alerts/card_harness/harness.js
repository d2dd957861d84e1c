/*
 * Renders every card of #cards with the Adaptive Cards renderer, Markdown by markdown-it with
 * bare URLs, hosts and email addresses linked (as Teams does), and writes what a person would
 * see into #result as JSON:
 *
 *   {"renderer": version, "errors": [...], "console": [...], "overflow": bool,
 *    "cards": [{"name", "warnings": [{"phase", "event", "message"}],
 *               "texts": [text of each TextBlock, fact titles and values included, in order],
 *               "html": [innerHTML of each TextBlock],
 *               "markup": [tag of every element inside a TextBlock other than its <p>],
 *               "links": [{"href", "text"}], "headings": [...], "emphasis": [...],
 *               "tags": [every tag name in the rendered card],
 *               "actions": [{"type", "title", "url"}], "buttons": [button texts],
 *               "clipped": [texts running past the card's padding, cut at its edge]}]}
 *
 * Everything runs synchronously while the page loads, so a DOM dump taken after the load
 * event (chromium --dump-dom) carries the result.
 */
(function () {
  "use strict";
  var result = { renderer: null, errors: [], console: [], overflow: false, cards: [] };

  window.addEventListener("error", function (event) {
    result.errors.push(String(event.message) + " at " + event.filename + ":" + event.lineno);
    publish();
  });
  ["warn", "error"].forEach(function (level) {
    var original = console[level];
    console[level] = function () {
      result.console.push(level + ": " + Array.prototype.join.call(arguments, " "));
      return original.apply(console, arguments);
    };
  });

  function publish() {
    document.getElementById("result").textContent = JSON.stringify(result);
  }

  function eventName(enumeration, value) {
    return enumeration && enumeration[value] !== undefined ? enumeration[value] : String(value);
  }

  function warning(event) {
    return {
      phase: eventName(AdaptiveCards.ValidationPhase, event.phase),
      event: eventName(AdaptiveCards.ValidationEvent, event.event),
      message: String(event.message),
    };
  }

  function texts(nodes) {
    return Array.prototype.map.call(nodes, function (node) { return node.textContent; });
  }

  function renderOne(entry, board) {
    var report = {
      name: entry.name, warnings: [], texts: [], html: [], markup: [], links: [],
      headings: [], emphasis: [], tags: [], actions: [], buttons: [], clipped: [],
    };
    result.cards.push(report);

    var card = new AdaptiveCards.AdaptiveCard();
    card.hostConfig = new AdaptiveCards.HostConfig({
      fontFamily: "'Segoe UI', system-ui, sans-serif",
    });
    var context = new AdaptiveCards.SerializationContext();
    card.parse(entry.card, context);
    for (var i = 0; i < context.eventCount; i++) {
      report.warnings.push(warning(context.getEventAt(i)));
    }
    card.validateProperties().validationEvents.forEach(function (event) {
      report.warnings.push(warning(event));
    });
    for (var a = 0; a < card.getActionCount(); a++) {
      var action = card.getActionAt(a);
      report.actions.push({
        type: action.getJsonTypeName(),
        title: action.title || "",
        url: action.url || "",
      });
    }

    var frame = document.createElement("section");
    frame.className = "dk-card";
    var label = document.createElement("div");
    label.className = "dk-label";
    label.textContent = entry.name;
    frame.appendChild(label);
    board.appendChild(frame);
    var root = card.render();
    if (!root) {
      report.warnings.push({
        phase: "Render", event: "NotRendered", message: "render() gave nothing",
      });
      return;
    }
    frame.appendChild(root);

    var blocks = root.querySelectorAll(".ac-textBlock");
    report.texts = texts(blocks);
    report.html = Array.prototype.map.call(blocks, function (block) { return block.innerHTML; });
    Array.prototype.forEach.call(blocks, function (block) {
      Array.prototype.forEach.call(block.querySelectorAll("*"), function (element) {
        if (!(element.tagName === "P" && element.parentElement === block)) {
          report.markup.push(element.tagName.toLowerCase());
        }
      });
    });
    Array.prototype.forEach.call(root.querySelectorAll("a, [href]"), function (link) {
      report.links.push({ href: link.getAttribute("href") || "", text: link.textContent });
    });
    report.headings = texts(root.querySelectorAll("h1, h2, h3, h4, h5, h6"));
    report.emphasis = texts(root.querySelectorAll("em, strong, b, i, u, s, del, code, mark"));
    var tags = {};
    Array.prototype.forEach.call(root.querySelectorAll("*"), function (element) {
      tags[element.tagName.toLowerCase()] = true;
    });
    report.tags = Object.keys(tags).sort();
    report.buttons = texts(root.querySelectorAll("button"));
    var edge = root.getBoundingClientRect().right - parseFloat(getComputedStyle(root).paddingRight);
    Array.prototype.forEach.call(blocks, function (block) {
      var walker = document.createTreeWalker(block, NodeFilter.SHOW_TEXT);
      var range = document.createRange();
      var right = 0;
      while (walker.nextNode()) {
        range.selectNodeContents(walker.currentNode);
        right = Math.max(right, range.getBoundingClientRect().right);
      }
      if (right > edge + 0.5) {
        report.clipped.push(block.textContent.slice(0, 80));
      }
    });
  }

  function main() {
    if (typeof AdaptiveCards === "undefined" || typeof markdownit === "undefined") {
      result.errors.push("adaptivecards or markdown-it did not load (run `npm ci`)");
      return;
    }
    result.renderer = String(AdaptiveCards.Versions.latest);
    // Teams links bare URLs, "www." hosts, bare domains and email addresses: linkify-it 6 no
    // longer links bare domains by default, and knows no ".example" (the test domain).
    var markdown = markdownit({ html: false, linkify: true });
    markdown.linkify.set({ fuzzyLink: true, fuzzyEmail: true });
    markdown.linkify.tlds(["example", "zip", "mov"], true);
    AdaptiveCards.AdaptiveCard.onProcessMarkdown = function (text, processed) {
      processed.outputHtml = markdown.render(text);
      processed.didProcess = true;
    };
    var entries = JSON.parse(document.getElementById("cards").textContent);
    var board = document.getElementById("board");
    board.style.setProperty("--columns", String(Math.max(1, Math.min(entries.length, 3))));
    entries.forEach(function (entry) {
      try {
        renderOne(entry, board);
      } catch (error) {
        result.errors.push(entry.name + ": " + (error && error.stack || String(error)));
      }
    });
    var page = document.documentElement;
    result.overflow =
      page.scrollHeight > window.innerHeight || page.scrollWidth > window.innerWidth;
    result.size = [page.scrollWidth, page.scrollHeight, window.innerWidth, window.innerHeight];
  }

  try {
    main();
  } catch (error) {
    result.errors.push(error && error.stack || String(error));
  }
  publish();
})();
