// LatentMap pointer: hover tooltips and clicks for the bqplot figure of the corpus map.
//
// bqplot-gl's ScatterGL draws the points but reports no pointer events, so this widget
// listens on the figure (found by its CSS class), maps the pointer to map coordinates
// through the plot area (the figure has no padding and fixed scales) and finds the nearest
// shown point within PICK_PX pixels. window.latentlab.latentMaps holds a test hook per view.

const PICK_PX = 9;

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
	const columns = 6;
	const tooltip = el("div", "ll-map-tooltip");
	document.body.append(tooltip);
	let figure = null;
	let hovered = null;
	const picks = [];

	model.on("change:_shown", () => (shown = typed(model.get("_shown"), Uint32Array)));
	model.on("change:_coords", () => (coords = typed(model.get("_coords"), Float32Array)));
	model.on("change:_table", () => (table = typed(model.get("_table"), Uint16Array)));

	/** The plot area's box on the page, or null while the figure is not laid out. */
	function area() {
		const rect = figure?.querySelector(".plotarea_events")?.getBoundingClientRect();
		return rect && rect.width > 0 ? rect : null;
	}

	/** Page (client) pixel position of atlas point i. */
	function pixelOf(i, box = area()) {
		const [x0, x1, y0, y1] = model.get("_domain");
		return [
			box.left + ((coords[2 * i] - x0) / (x1 - x0)) * box.width,
			box.top + ((y1 - coords[2 * i + 1]) / (y1 - y0)) * box.height,
		];
	}

	/** The shown point nearest to a client position, within PICK_PX, or null. */
	function nearest(clientX, clientY) {
		const box = area();
		if (!box) return null;
		const [x0, x1, y0, y1] = model.get("_domain");
		const sx = box.width / (x1 - x0);
		const sy = box.height / (y1 - y0);
		const mx = x0 + (clientX - box.left) / sx;
		const my = y1 - (clientY - box.top) / sy;
		let best = null;
		let bestD = PICK_PX * PICK_PX;
		for (let k = 0; k < shown.length; k++) {
			const i = shown[k];
			const dx = (coords[2 * i] - mx) * sx;
			const dy = (coords[2 * i + 1] - my) * sy;
			const d = dx * dx + dy * dy;
			if (d <= bestD) {
				bestD = d;
				best = i;
			}
		}
		return best;
	}

	function describe(i) {
		const names = model.get("_names");
		const row = table.subarray(i * columns, (i + 1) * columns);
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
		if (figure) figure.style.cursor = "";
		hovered = null;
	}

	let frame = 0;
	function onMove(event) {
		if (frame) return;
		const { clientX, clientY } = event;
		frame = requestAnimationFrame(() => {
			frame = 0;
			hovered = nearest(clientX, clientY);
			if (hovered === null) return hideTooltip();
			figure.style.cursor = "pointer";
			showTooltip(hovered, clientX, clientY);
		});
	}

	function onClick(event) {
		const i = nearest(event.clientX, event.clientY);
		if (i === null) return;
		picks.push({ index: i, at: epochNow() });
		model.send({ type: "pick", index: i });
	}

	const hook = {
		pixelOf: (i) => pixelOf(i),
		shown: () => Array.from(shown),
		hovered: () => hovered,
		tooltip: () => (tooltip.classList.contains("ll-map-tooltip-on") ? tooltip.innerText : ""),
		picks: () => picks.map((p) => ({ ...p })),
	};

	// The figure is a sibling view that may be attached to the page after this one.
	function attach() {
		figure = document.querySelector(`.${model.get("_target")}`);
		if (!figure) return false;
		figure.addEventListener("mousemove", onMove);
		figure.addEventListener("mouseleave", hideTooltip);
		figure.addEventListener("click", onClick);
		registry.latentMaps.push(hook);
		return true;
	}
	let observer = null;
	if (!attach()) {
		observer = new MutationObserver(() => attach() && observer.disconnect());
		observer.observe(document.body, { childList: true, subtree: true });
	}
	host.classList.add("ll-map-pointer");

	return () => {
		observer?.disconnect();
		tooltip.remove();
		if (figure) {
			figure.removeEventListener("mousemove", onMove);
			figure.removeEventListener("mouseleave", hideTooltip);
			figure.removeEventListener("click", onClick);
		}
		registry.latentMaps = registry.latentMaps.filter((other) => other !== hook);
	};
}

export default { render };
