// The emotion recognition page. Everything the user or the server supplies is written with
// textContent (never innerHTML), so typed text cannot become markup.
"use strict";

const TASKS = ["ter", "ser", "mer"];
const TARGET_RATE = 16000;

const $ = (id) => document.getElementById(id);
let recordedWav = null;   // Blob (audio/wav) from the microphone, 16 kHz mono PCM16
let recorder = null;
let recordChunks = [];
let limits = null;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
}

function clearError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

async function loadHealth() {
  try {
    const resp = await fetch("/api/health");
    const health = await resp.json();
    limits = health.limits;
    const parts = TASKS.map((t) => {
      const m = health.models[t];
      return m.status === "available" ? `${t.toUpperCase()} v${m.version}` : `${t.toUpperCase()} unavailable`;
    });
    $("status").textContent = `Models: ${parts.join(" · ")} — ${health.backend}`;
    if (health.status === "unavailable") {
      showError("No model is available. Run `make demo` (or `mer run`) to push models, "
        + "or start TF Serving; see /api/health for details.");
    }
    $("asr").disabled = !health.asr.available;
    $("asr").checked = health.asr.available;
    if (!health.asr.available) $("audio-hint").textContent = "Speech transcription is not installed on the server.";
    if (limits) {
      $("text").maxLength = limits.max_text_chars;
      $("text-hint").textContent = `Up to ${limits.max_text_chars} characters.`;
      $("audio-hint").textContent += ` Up to ${limits.max_audio_s} s of audio; the timeline `
        + `takes recordings up to ${Math.round(limits.max_timeline_s / 60)} min.`;
    }
  } catch (err) {
    $("status").textContent = "Could not reach the server's health check.";
  }
}

function renderResults(data) {
  // The text the models saw, echoed back as plain text (this is where typed markup would
  // be dangerous if it were rendered as HTML).
  const transcript = $("transcript");
  const text = data.input ? data.input.text : null;
  if (text) {
    const label = data.input.text_source === "asr" ? "Text from speech recognition (ASR)" : "Text";
    transcript.textContent = `${label}: “${text}”`;
    transcript.hidden = false;
  } else {
    transcript.textContent = "";
    transcript.hidden = true;
  }
  for (const task of TASKS) {
    const body = $(`result-${task}`).querySelector(".body");
    body.replaceChildren();
    const result = data.results[task];
    if (!result) {
      body.appendChild(el("p", "reason", "Not requested."));
      continue;
    }
    if (result.status !== "ok") {
      body.appendChild(el("p", "reason", result.reason || result.status));
      continue;
    }
    const top = result.predictions[0];
    body.appendChild(el("div", "top", `${top.emoji}`));
    for (const p of result.predictions) {
      const row = el("div", "row");
      row.dataset.emotion = p.emotion;
      row.appendChild(el("span", "emoji", p.emoji));
      row.appendChild(el("span", "emotion", p.emotion));
      const bar = el("div", "bar");
      const fill = el("span");
      fill.style.width = `${Math.round(p.probability * 100)}%`;
      bar.appendChild(fill);
      row.appendChild(bar);
      row.appendChild(el("span", "pct", `${(p.probability * 100).toFixed(1)}%`));
      body.appendChild(row);
    }
  }
}

function clearResults() {
  for (const task of TASKS) $(`result-${task}`).querySelector(".body").replaceChildren();
  $("transcript").hidden = true;
}

async function onSubmit(event) {
  event.preventDefault();
  clearError();
  clearResults();
  const form = new FormData();
  const text = $("text").value;
  if (text.trim()) form.append("text", text);
  const file = $("audio-file").files[0];
  if (file) {
    form.append("audio", file, file.name);
  } else if (recordedWav) {
    form.append("audio", recordedWav, "recording.wav");
  }
  if (!text.trim() && !file && !recordedWav) {
    showError("Type some text and/or choose or record audio first.");
    return;
  }
  if ($("asr").checked) form.append("asr", "true");
  const button = $("submit");
  button.disabled = true;
  button.textContent = "Recognising…";
  try {
    const resp = await fetch("/api/predict", { method: "POST", body: form });
    let data;
    try {
      data = await resp.json();
    } catch (err) {
      throw new Error(`The server answered HTTP ${resp.status} without JSON.`);
    }
    if (!resp.ok) {
      const message = data && data.error ? data.error.message : `HTTP ${resp.status}`;
      throw new Error(message);
    }
    renderResults(data);
  } catch (err) {
    showError(err.message);
  } finally {
    button.disabled = false;
    button.textContent = "Recognise emotions";
  }
}

// ---------------------------------------------------------------- timeline of a recording

const EMOTION_COLORS = {
  neutral: "#9aa3b5", calm: "#7cc6c1", happy: "#f2b705", joy: "#f2b705", sad: "#3a5bd9",
  sadness: "#3a5bd9", angry: "#d93a3a", anger: "#d93a3a", fearful: "#8e44ad", fear: "#8e44ad",
  disgust: "#5a8f29", surprised: "#f28c28", surprise: "#f28c28",
};

function colorFor(emotion) {
  if (EMOTION_COLORS[emotion]) return EMOTION_COLORS[emotion];
  let h = 0;
  for (const c of emotion) h = (h * 31 + c.charCodeAt(0)) % 360;
  return `hsl(${h}, 55%, 55%)`;
}

function fmtTime(s) {
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.floor(s % 60)).padStart(2, "0")}`;
}

function renderTimeline(data) {
  const task = data.segments.some((s) => s.results.ser) ? "ser" : Object.keys(data.summary.share)[0];
  const total = Math.max(data.duration_s, 0.001);
  const chart = $("timeline-chart");
  chart.replaceChildren();
  for (const seg of data.segments) {
    const preds = seg.results[task];
    if (!preds) continue;
    const top = preds[0];
    const bar = el("div", "seg");
    bar.dataset.emotion = top.emotion;
    bar.style.left = `${(100 * seg.start_s) / total}%`;
    bar.style.width = `${(100 * Math.min(data.hop_s, seg.end_s - seg.start_s)) / total}%`;
    bar.style.background = colorFor(top.emotion);
    bar.title = `${fmtTime(seg.start_s)}–${fmtTime(seg.end_s)} ${top.emotion} `
      + `${(top.probability * 100).toFixed(0)}%` + (seg.text ? ` “${seg.text}”` : "");
    chart.appendChild(bar);
  }
  $("timeline-axis").replaceChildren(el("span", "", "0:00"), el("span", "", fmtTime(total)));
  const share = $("timeline-share");
  share.replaceChildren();
  for (const [emotion, part] of Object.entries(data.summary.share[task] || {})) {
    const item = el("li");
    item.dataset.emotion = emotion;
    const swatch = el("span", "swatch");
    swatch.style.background = colorFor(emotion);
    item.appendChild(swatch);
    item.appendChild(el("span", "", `${emotion} ${(part * 100).toFixed(1)}%`));
    share.appendChild(item);
  }
  const moments = $("timeline-moments");
  moments.replaceChildren();
  for (const m of data.summary.strongest) {
    moments.appendChild(el("li", "", `${m.task.toUpperCase()} ${m.emotion} `
      + `${(m.probability * 100).toFixed(0)}% at ${fmtTime(m.start_s)}–${fmtTime(m.end_s)}`));
  }
  $("timeline-info").textContent = `${fmtTime(total)} recording, ${data.segments.length} `
    + `segments of ${data.window_s} s (${task.toUpperCase()}); ${data.silent_windows} silent `
    + `windows skipped.`;
  $("timeline").hidden = false;
}

async function onTimeline() {
  clearError();
  $("timeline").hidden = true;
  const form = new FormData();
  const file = $("audio-file").files[0];
  if (file) {
    form.append("audio", file, file.name);
  } else if (recordedWav) {
    form.append("audio", recordedWav, "recording.wav");
  } else {
    showError("Choose or record a recording first: the timeline scores the whole of it.");
    return;
  }
  const text = $("text").value;
  if (text.trim()) form.append("text", text);
  else if ($("asr").checked) form.append("asr", "true");
  const button = $("timeline-button");
  button.disabled = true;
  button.textContent = "Scoring the recording…";
  try {
    const resp = await fetch("/api/timeline", { method: "POST", body: form });
    let data;
    try {
      data = await resp.json();
    } catch (err) {
      throw new Error(`The server answered HTTP ${resp.status} without JSON.`);
    }
    if (!resp.ok) throw new Error(data && data.error ? data.error.message : `HTTP ${resp.status}`);
    renderTimeline(data);
  } catch (err) {
    showError(err.message);
  } finally {
    button.disabled = false;
    button.textContent = "Timeline of the whole recording";
  }
}

// ---------------------------------------------------------------- recording -> 16 kHz WAV

function encodeWav(samples, rate) {
  const buffer = new ArrayBuffer(44 + samples.length * 2);
  const view = new DataView(buffer);
  const writeStr = (offset, s) => { for (let i = 0; i < s.length; i++) view.setUint8(offset + i, s.charCodeAt(i)); };
  writeStr(0, "RIFF");
  view.setUint32(4, 36 + samples.length * 2, true);
  writeStr(8, "WAVE");
  writeStr(12, "fmt ");
  view.setUint32(16, 16, true);        // PCM header size
  view.setUint16(20, 1, true);         // PCM
  view.setUint16(22, 1, true);         // mono
  view.setUint32(24, rate, true);
  view.setUint32(28, rate * 2, true);  // byte rate
  view.setUint16(32, 2, true);         // block align
  view.setUint16(34, 16, true);        // bits per sample
  writeStr(36, "data");
  view.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    view.setInt16(44 + i * 2, s < 0 ? s * 0x8000 : s * 0x7fff, true);
  }
  return new Blob([view], { type: "audio/wav" });
}

async function toWav16k(blob) {
  // MediaRecorder gives WebM/Opus (Chromium) or Ogg; the models take 16 kHz mono PCM16 WAV.
  const bytes = await blob.arrayBuffer();
  const ctx = new AudioContext();
  const decoded = await ctx.decodeAudioData(bytes);
  ctx.close();
  const length = Math.max(1, Math.ceil(decoded.duration * TARGET_RATE));
  const offline = new OfflineAudioContext(1, length, TARGET_RATE);  // resamples + downmixes
  const source = offline.createBufferSource();
  source.buffer = decoded;
  source.connect(offline.destination);
  source.start();
  const rendered = await offline.startRendering();
  return encodeWav(rendered.getChannelData(0), TARGET_RATE);
}

async function toggleRecording() {
  const button = $("record");
  if (recorder && recorder.state === "recording") {
    recorder.stop();
    return;
  }
  if (!navigator.mediaDevices || !window.MediaRecorder) {
    showError("This browser cannot record audio; upload a file instead.");
    return;
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    recordChunks = [];
    recorder = new MediaRecorder(stream);
    recorder.ondataavailable = (e) => { if (e.data.size) recordChunks.push(e.data); };
    recorder.onstop = async () => {
      stream.getTracks().forEach((t) => t.stop());
      button.classList.remove("recording");
      button.textContent = "● Record";
      try {
        recordedWav = await toWav16k(new Blob(recordChunks, { type: recorder.mimeType }));
        $("audio-file").value = "";
        const preview = $("preview");
        preview.src = URL.createObjectURL(recordedWav);
        preview.hidden = false;
        $("record-status").textContent = `Recorded ${(recordedWav.size - 44) / 2 / TARGET_RATE} s (16 kHz WAV).`;
      } catch (err) {
        showError(`Could not convert the recording: ${err.message}`);
      }
    };
    recorder.start();
    button.classList.add("recording");
    button.textContent = "■ Stop";
    $("record-status").textContent = "Recording…";
  } catch (err) {
    showError(`Microphone unavailable: ${err.message}`);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("predict-form").addEventListener("submit", onSubmit);
  $("record").addEventListener("click", toggleRecording);
  $("timeline-button").addEventListener("click", onTimeline);
  $("audio-file").addEventListener("change", () => {
    if ($("audio-file").files.length) {
      recordedWav = null;
      $("preview").hidden = true;
      $("record-status").textContent = "";
    }
  });
  loadHealth();
});
