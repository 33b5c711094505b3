// NeighbourGrid: nine step-grid thumbnails around the current groove, and the page's keys.
//
// Each cell is a canvas: one row per drum class, one column per step, a note's brightness
// its velocity. Clicks and double clicks on cells and the keys ArrowLeft/Right/Up/Down, 'c'
// and 'r' (see explorerKey for where) go to Python as messages.
// window.latentlab.neighbourGrids holds a test hook per view.

const KEYS = { ArrowLeft: "left", ArrowRight: "right", ArrowUp: "up", ArrowDown: "down" };
const TYPING = "input, textarea, select, [contenteditable], .noUi-target, .widget-slider";

const registry = (globalThis.latentlab ??= {});
registry.neighbourGrids ??= [];

function el(tag, className, props = {}) {
	return Object.assign(document.createElement(tag), { className }, props);
}

/**
 * The explorer key of a keydown event, or null when it is not one or belongs elsewhere. In a
 * Voila dashboard the keys work anywhere on the page; elsewhere (JupyterLab, whose own keys
 * they are) only while the focus is in the grid.
 */
function explorerKey(event) {
	if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return null;
	const target = event.target instanceof Element ? event.target : null;
	if (target?.closest(TYPING)) return null;
	if (document.body.dataset.voila === undefined && !target?.closest(".ll-ng")) return null;
	if (KEYS[event.key]) return KEYS[event.key];
	const key = event.key.toLowerCase();
	return key === "c" || key === "r" ? key : null;
}

function initialize({ model }) {
	const onKey = (event) => {
		const key = explorerKey(event);
		if (!key) return;
		event.preventDefault(); // arrows would scroll the page
		if (event.repeat) return;
		model.send({ type: "key", key });
	};
	document.addEventListener("keydown", onKey);
	return () => document.removeEventListener("keydown", onKey);
}

function draw(canvas, hits, steps, colours) {
	const ratio = window.devicePixelRatio || 1;
	const width = canvas.clientWidth || 180;
	const height = canvas.clientHeight || 60;
	canvas.width = Math.round(width * ratio);
	canvas.height = Math.round(height * ratio);
	const ctx = canvas.getContext("2d");
	ctx.scale(ratio, ratio);
	ctx.fillStyle = "#15171c";
	ctx.fillRect(0, 0, width, height);
	const cw = width / steps;
	const rh = height / colours.length;
	for (let s = 4; s < steps; s += 4) {
		ctx.fillStyle = s % 16 === 0 ? "#5a6170" : "#2b3039";
		ctx.fillRect(Math.round(s * cw) - 1, 0, 1, height);
	}
	for (const [step, cls, velocity] of hits) {
		ctx.globalAlpha = 0.4 + 0.6 * velocity;
		ctx.fillStyle = colours[cls];
		ctx.fillRect(step * cw + 0.5, cls * rh + 0.5, Math.max(cw - 1.5, 1), Math.max(rh - 1, 1));
	}
	ctx.globalAlpha = 1;
}

function render({ model, el: host }) {
	const root = el("div", "ll-ng");
	const yLabel = el("div", "ll-ng-ylabel");
	const xLabel = el("div", "ll-ng-xlabel");
	const board = el("div", "ll-ng-cells");
	const cells = [];
	for (let i = 0; i < 9; i++) {
		const cell = el("button", "ll-ng-cell", { type: "button" });
		cell.dataset.index = i;
		const canvas = el("canvas", "ll-ng-canvas");
		cell.append(canvas);
		cell.addEventListener("click", () => model.send({ type: "cell", index: i, move: false }));
		cell.addEventListener("dblclick", () => model.send({ type: "cell", index: i, move: true }));
		cells.push(cell);
		board.append(cell);
	}
	const hint = el("div", "ll-ng-hint", {
		innerHTML:
			"click: hear it · double-click: go there · " +
			"<kbd>←</kbd><kbd>→</kbd><kbd>↑</kbd><kbd>↓</kbd> move · " +
			"<kbd>c</kbd> other directions · <kbd>r</kbd> random jump",
	});
	root.append(yLabel, board, xLabel, hint);
	host.append(root);

	function paint() {
		const data = model.get("cells");
		const steps = model.get("steps");
		xLabel.textContent = `${model.get("x_label")} →`;
		yLabel.textContent = `${model.get("y_label")} →`;
		root.dataset.version = model.get("version");
		cells.forEach((cell, i) => {
			const hits = data[i] ?? [];
			draw(cell.firstChild, hits, steps, model.get("_colours"));
			cell.dataset.hits = hits.length;
			cell.title = i === 4 ? "The current groove" : "Click to hear, double-click to go there";
		});
		paintActive();
	}

	function paintActive() {
		const active = model.get("active");
		cells.forEach((cell, i) => {
			cell.classList.toggle("ll-ng-active", i === active);
			cell.classList.toggle("ll-ng-centre", i === 4);
		});
	}

	const hook = {
		version: () => model.get("version"),
		cells: () => model.get("cells"),
		active: () => model.get("active"),
	};
	registry.neighbourGrids.push(hook);
	model.on("change:version", paint);
	model.on("change:active", paintActive);
	// Canvases have no size until the page lays them out: paint once it has.
	const resize = new ResizeObserver(() => paint());
	resize.observe(board);
	paint();
	return () => {
		resize.disconnect();
		registry.neighbourGrids = registry.neighbourGrids.filter((other) => other !== hook);
	};
}

export default { initialize, render };
