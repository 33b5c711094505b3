// LatentMap: the corpus map drawn on a canvas, with hover tooltips and clicks.
//
// The shown points (coloured by style) are drawn once into an offscreen layer; each frame
// copies it and draws the current point and the pins over it, so moving a marker does not
// redraw 16k points. Map coordinates fill the canvas (the domain has its own margin); the
// backing store has devicePixelRatio pixels per CSS pixel. A click picks the nearest shown
// point within PICK_PX pixels. window.latentlab.latentMaps holds a test hook per view.

const PICK_PX = 9;
const POINT_RADIUS = 1.9;
const POINT_ALPHA = 0.75;
const RING_RADIUS = 10;
const DOT_RADIUS = 3.2;
const PIN_HALF = [6, 9]; // half width, half height of a pin's diamond
const LABEL_FONT = "600 12px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
const COLUMNS = 6; // of the per-point table: style, drummer, substyle, beat_type, bpm, first_bar

const registry = (globalThis.latentlab ??= {});
registry.latentMaps ??= [];

const epochNow = () => performance.timeOrigin + performance.now();

function el(tag, className, props = {}) {
	return Object.assign(document.createElement(tag), { className }, props);
}

function typed(view, Type) {
	const bytes = view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength);
	return new Type(bytes);
}

function render({ model, el: host }) {
	let coords = typed(model.get("_coords"), Float32Array);
	let shown = typed(model.get("_shown"), Uint32Array);
	let table = typed(model.get("_table"), Uint16Array);
	const canvas = el("canvas", "ll-map-canvas");
	const layer = document.createElement("canvas"); // the shown points
	const tooltip = el("div", "ll-map-tooltip");
	host.append(canvas);
	document.body.append(tooltip);
	let layerKey = ""; // size and pixel ratio the layer was drawn at; "" to redraw it
	let frame = 0;
	let drawn = { points: 0, marked: null, pins: [] }; // what the last frame drew
	let hovered = null;
	const picks = [];

	/** A function from map coordinates to canvas (CSS pixel) positions. */
	function projection() {
		const [x0, x1, y0, y1] = model.get("_domain");
		const sx = model.get("_width") / (x1 - x0);
		const sy = model.get("_height") / (y1 - y0);
		return (x, y) => [(x - x0) * sx, (y1 - y) * sy];
	}

	const toCanvas = (x, y) => projection()(x, y);

	/** Page (client) pixel position of canvas coordinates. */
	function toClient([cx, cy]) {
		const box = canvas.getBoundingClientRect();
		return [
			box.left + (cx * box.width) / model.get("_width"),
			box.top + (cy * box.height) / model.get("_height"),
		];
	}

	function drawPoints(ratio) {
		layer.width = canvas.width;
		layer.height = canvas.height;
		const ctx = layer.getContext("2d");
		ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
		const colours = model.get("_colours");
		const paths = colours.map(() => new Path2D());
		const project = projection();
		for (const i of shown) {
			const [x, y] = project(coords[2 * i], coords[2 * i + 1]);
			const path = paths[table[i * COLUMNS]];
			path.moveTo(x + POINT_RADIUS, y);
			path.arc(x, y, POINT_RADIUS, 0, 2 * Math.PI);
		}
		ctx.globalAlpha = POINT_ALPHA;
		paths.forEach((path, k) => {
			ctx.fillStyle = colours[k];
			ctx.fill(path);
		});
	}

	function circle(ctx, [x, y], radius) {
		ctx.beginPath();
		ctx.arc(x, y, radius, 0, 2 * Math.PI);
	}

	/** The current point: a dark ring on a white halo around a dot, seen on any colour. */
	function drawMarker(ctx, at) {
		const ink = model.get("_ink");
		circle(ctx, at, RING_RADIUS);
		ctx.lineWidth = 7;
		ctx.strokeStyle = "#ffffff";
		ctx.stroke();
		ctx.lineWidth = 3;
		ctx.strokeStyle = ink;
		ctx.stroke();
		circle(ctx, at, DOT_RADIUS);
		ctx.fillStyle = ink;
		ctx.fill();
		ctx.lineWidth = 1.5;
		ctx.strokeStyle = "#ffffff";
		ctx.stroke();
	}

	/** A groove of the user's: a white diamond with a dark outline, and its name. */
	function drawPin(ctx, [x, y], name) {
		const [w, h] = PIN_HALF;
		ctx.beginPath();
		ctx.moveTo(x, y - h);
		ctx.lineTo(x + w, y);
		ctx.lineTo(x, y + h);
		ctx.lineTo(x - w, y);
		ctx.closePath();
		ctx.fillStyle = "#ffffff";
		ctx.fill();
		ctx.lineWidth = 2.5;
		ctx.strokeStyle = model.get("_ink");
		ctx.stroke();
		ctx.font = LABEL_FONT;
		ctx.textBaseline = "middle";
		// The name to the right, or to the left where it would run off the map.
		const right = x + w + 4 + ctx.measureText(name).width <= model.get("_width");
		const tx = right ? x + w + 4 : x - w - 4;
		ctx.textAlign = right ? "left" : "right";
		ctx.lineWidth = 3;
		ctx.strokeStyle = "#ffffff";
		ctx.strokeText(name, tx, y);
		ctx.fillStyle = model.get("_ink");
		ctx.fillText(name, tx, y);
	}

	function draw() {
		frame = 0;
		const ratio = window.devicePixelRatio || 1;
		const [width, height] = [model.get("_width"), model.get("_height")];
		const key = `${width}x${height}@${ratio}`;
		if (key !== layerKey) {
			canvas.width = Math.round(width * ratio);
			canvas.height = Math.round(height * ratio);
			canvas.style.width = `${width}px`;
			canvas.style.height = `${height}px`;
			drawPoints(ratio);
			layerKey = key;
		}
		const ctx = canvas.getContext("2d");
		ctx.setTransform(1, 0, 0, 1, 0, 0);
		ctx.clearRect(0, 0, canvas.width, canvas.height);
		ctx.drawImage(layer, 0, 0);
		ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
		const pins = model.get("_pins").map(([x, y, name]) => ({ at: toCanvas(x, y), name }));
		for (const pin of pins) drawPin(ctx, pin.at, pin.name);
		const mark = model.get("_marked");
		const marked = mark.length === 2 ? toCanvas(mark[0], mark[1]) : null;
		if (marked) drawMarker(ctx, marked);
		drawn = { points: shown.length, marked, pins };
	}

	/** Draw at the next frame; `points`: the shown points changed too. */
	function redraw(points = false) {
		if (points) layerKey = "";
		frame ||= requestAnimationFrame(draw);
	}

	/** The shown point nearest to a client position, within PICK_PX, or null. */
	function nearest(clientX, clientY) {
		const box = canvas.getBoundingClientRect();
		if (box.width === 0) return null;
		const px = ((clientX - box.left) * model.get("_width")) / box.width;
		const py = ((clientY - box.top) * model.get("_height")) / box.height;
		const project = projection();
		let best = null;
		let bestD = PICK_PX * PICK_PX;
		for (const i of shown) {
			const [x, y] = project(coords[2 * i], coords[2 * i + 1]);
			const d = (x - px) ** 2 + (y - py) ** 2;
			if (d <= bestD) {
				bestD = d;
				best = i;
			}
		}
		return best;
	}

	function describe(i) {
		const names = model.get("_names");
		const row = table.subarray(i * COLUMNS, (i + 1) * COLUMNS);
		const [style, drummer, substyle, beat, bpm, firstBar] = row;
		const bars = `bars ${firstBar + 1}–${firstBar + model.get("_bars")}`;
		return {
			style: [names.style[style], names.substyle[substyle]].filter(Boolean).join("/"),
			colour: model.get("_colours")[style],
			line: names.drummer[drummer],
			detail: [`${bpm} bpm`, names.beat_type[beat], bars].filter(Boolean).join(" · "),
		};
	}

	function showTooltip(i, clientX, clientY) {
		const info = describe(i);
		tooltip.replaceChildren(
			el("div", "ll-map-tooltip-title", { textContent: info.style }),
			el("div", "", { textContent: info.line }),
			el("div", "ll-map-tooltip-detail", { textContent: `${info.detail} · #${i}` }),
		);
		tooltip.style.setProperty("--c", info.colour);
		tooltip.style.left = `${clientX + 14}px`;
		tooltip.style.top = `${clientY + 14}px`;
		tooltip.classList.add("ll-map-tooltip-on");
	}

	function hideTooltip() {
		tooltip.classList.remove("ll-map-tooltip-on");
		canvas.style.cursor = "";
		hovered = null;
	}

	let hoverFrame = 0;
	function onMove(event) {
		if (hoverFrame) return;
		const { clientX, clientY } = event;
		hoverFrame = requestAnimationFrame(() => {
			hoverFrame = 0;
			hovered = nearest(clientX, clientY);
			if (hovered === null) return hideTooltip();
			canvas.style.cursor = "pointer";
			showTooltip(hovered, clientX, clientY);
		});
	}

	function onClick(event) {
		const i = nearest(event.clientX, event.clientY);
		if (i === null) return;
		picks.push({ index: i, at: epochNow() });
		model.send({ type: "pick", index: i });
	}

	const onResize = () => redraw(); // a new pixel ratio (page zoom) redraws the layer
	// anywidget removes these listeners with the view.
	model.on("change:_shown", () => {
		shown = typed(model.get("_shown"), Uint32Array);
		redraw(true);
	});
	model.on("change:_coords", () => {
		coords = typed(model.get("_coords"), Float32Array);
		redraw(true);
	});
	model.on("change:_table", () => {
		table = typed(model.get("_table"), Uint16Array);
		redraw(true);
	});
	model.on("change:_domain change:_colours change:_width change:_height", () => redraw(true));
	model.on("change:_marked change:_pins change:_ink", () => redraw());
	canvas.addEventListener("mousemove", onMove);
	canvas.addEventListener("mouseleave", hideTooltip);
	canvas.addEventListener("click", onClick);
	window.addEventListener("resize", onResize);
	redraw(true);

	const hook = {
		pixelOf: (i) => toClient(toCanvas(coords[2 * i], coords[2 * i + 1])),
		shown: () => Array.from(shown),
		hovered: () => hovered,
		tooltip: () => (tooltip.classList.contains("ll-map-tooltip-on") ? tooltip.innerText : ""),
		picks: () => picks.map((p) => ({ ...p })),
		// What the last frame drew: points, the current point and pins in client pixels.
		drawnPoints: () => drawn.points,
		marked: () => drawn.marked && toClient(drawn.marked),
		pins: () => drawn.pins.map((p) => ({ name: p.name, at: toClient(p.at) })),
		/** [r, g, b, a] of the canvas at a client position. */
		colourAt: (clientX, clientY) => {
			const box = canvas.getBoundingClientRect();
			const x = Math.floor(((clientX - box.left) * canvas.width) / box.width);
			const y = Math.floor(((clientY - box.top) * canvas.height) / box.height);
			return Array.from(canvas.getContext("2d").getImageData(x, y, 1, 1).data);
		},
	};
	registry.latentMaps.push(hook);

	return () => {
		cancelAnimationFrame(frame);
		cancelAnimationFrame(hoverFrame);
		window.removeEventListener("resize", onResize);
		tooltip.remove();
		registry.latentMaps = registry.latentMaps.filter((other) => other !== hook);
	};
}

export default { render };
