// NeighbourGrid: nine step-grid thumbnails around the current groove, and the page's keys.
//
// Each cell shows an SVG picture drawn in Python (the one groove thumbnail of the
// dashboards). Clicks and double clicks on cells and the keys ArrowLeft/Right/Up/Down, 'c'
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

function render({ model, el: host }) {
	const root = el("div", "ll-ng");
	const yLabel = el("div", "ll-ng-ylabel");
	const xLabel = el("div", "ll-ng-xlabel");
	const board = el("div", "ll-ng-cells");
	const cells = [];
	for (let i = 0; i < 9; i++) {
		const cell = el("button", "ll-ng-cell", { type: "button" });
		cell.dataset.index = i;
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
		const svgs = model.get("svgs");
		xLabel.textContent = `${model.get("x_label")} →`;
		yLabel.textContent = `${model.get("y_label")} →`;
		root.dataset.version = model.get("version");
		cells.forEach((cell, i) => {
			cell.innerHTML = svgs[i] ?? "";
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
		svgs: () => model.get("svgs"),
		active: () => model.get("active"),
	};
	registry.neighbourGrids.push(hook);
	model.on("change:version", paint);
	model.on("change:active", paintActive);
	paint();
	return () => {
		registry.neighbourGrids = registry.neighbourGrids.filter((other) => other !== hook);
	};
}

export default { initialize, render };
