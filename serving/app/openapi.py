"""The OpenAPI 3 description of the web app's JSON API (served at GET /openapi.json).

Generated from the same `Limits` the server enforces, so the document cannot drift from them.
"""

from __future__ import annotations

from components.core.tasks import TASKS
from serving.app.service import AUDIO_CONTENT_TYPES, Limits


def openapi_document(limits: Limits = Limits(), version: str = "1.0.0") -> dict:
    prediction = {
        "type": "object",
        "required": ["emotion", "probability", "emoji"],
        "properties": {
            "emotion": {"type": "string", "example": "happy"},
            "probability": {"type": "number", "minimum": 0, "maximum": 1, "example": 0.83},
            "emoji": {"type": "string", "example": "😊"},
        },
    }
    task_result = {
        "type": "object",
        "required": ["status", "title"],
        "properties": {
            "title": {"type": "string", "example": "Text (TER)"},
            "status": {"type": "string", "enum": ["ok", "skipped", "unavailable", "error"],
                       "description": "skipped: the task's input is missing; unavailable: no "
                                      "model is served for it; error: the model failed"},
            "predictions": {"type": "array", "items": {"$ref": "#/components/schemas/Emotion"},
                            "description": "top-k emotions, most probable first (status ok)"},
            "reason": {"type": "string", "description": "why there are no predictions"},
        },
    }
    common_fields = {
        "text": {"type": "string", "maxLength": limits.max_text_chars,
                 "description": "what was said (TER and MER)"},
        "tasks": {"type": "string", "example": "ter,ser",
                  "description": f"comma-separated subset of {', '.join(TASKS)}, or 'all' "
                                 f"(default: every task whose inputs are present)"},
        "top_k": {"type": "integer", "minimum": 1, "maximum": limits.max_top_k, "default": 3},
        "asr": {"type": "boolean", "default": False,
                "description": "with audio but no text, transcribe the audio offline "
                               "(pocketsphinx) and use the transcript for TER and MER"},
    }
    error = {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {
            "type": "object",
            "required": ["status", "code", "message"],
            "properties": {
                "status": {"type": "integer", "example": 400},
                "code": {"type": "string", "example": "invalid_audio"},
                "message": {"type": "string", "description": "what was wrong, for a person"},
            }}},
    }

    def err(description: str) -> dict:
        return {"description": description, "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}

    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Multimodal emotion recognition API",
            "version": version,
            "description": (
                "Top emotions from text (TER), speech (SER) and both (MER). Audio in any "
                "format libsndfile reads (WAV, FLAC, Ogg, MP3) is converted to 16 kHz mono "
                f"16-bit WAV. Limits: request {limits.max_request_bytes} bytes, audio "
                f"{limits.max_audio_s:g} s, text {limits.max_text_chars} characters."),
        },
        "paths": {
            "/api/predict": {"post": {
                "summary": "Predict emotions for text and/or audio",
                "operationId": "predict",
                "requestBody": {"required": True, "content": {
                    "multipart/form-data": {"schema": {
                        "type": "object",
                        "properties": {**common_fields, "audio": {
                            "type": "string", "format": "binary",
                            "description": "audio file; part content type one of "
                                           + ", ".join(AUDIO_CONTENT_TYPES)}}},
                        "encoding": {"audio": {"contentType": ", ".join(AUDIO_CONTENT_TYPES)}}},
                    "application/json": {"schema": {
                        "type": "object",
                        "properties": {**common_fields, "audio_b64": {
                            "type": "string", "format": "byte",
                            "description": "the audio file, base64-encoded"}}},
                        "example": {"text": "I can't believe you did that!", "top_k": 3}},
                }},
                "responses": {
                    "200": {"description": "results per task", "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/PredictResponse"}}}},
                    "400": err("malformed request, undecodable audio, no input"),
                    "411": err("Content-Length missing"),
                    "413": err(f"request larger than {limits.max_request_bytes} bytes"),
                    "415": err("request or audio content type not accepted"),
                    "422": err(f"text over {limits.max_text_chars} characters or audio over "
                               f"{limits.max_audio_s:g} s"),
                    "503": err("the model server is down"),
                },
            }},
            "/api/health": {"get": {
                "summary": "Backend and per-model status",
                "operationId": "health",
                "responses": {
                    "200": {"description": "at least one model is available",
                            "content": {"application/json": {"schema": {
                                "$ref": "#/components/schemas/Health"}}}},
                    "503": {"description": "no model is available",
                            "content": {"application/json": {"schema": {
                                "$ref": "#/components/schemas/Health"}}}},
                },
            }},
            "/openapi.json": {"get": {
                "summary": "This document",
                "operationId": "openapi",
                "responses": {"200": {"description": "OpenAPI 3 document",
                                      "content": {"application/json": {}}}},
            }},
        },
        "components": {"schemas": {
            "Emotion": prediction,
            "TaskResult": task_result,
            "PredictResponse": {
                "type": "object",
                "required": ["results", "input", "backend", "elapsed_ms"],
                "properties": {
                    "results": {"type": "object",
                                "properties": {t: {"$ref": "#/components/schemas/TaskResult"}
                                               for t in TASKS}},
                    "input": {"type": "object", "properties": {
                        "text": {"type": "string", "nullable": True},
                        "text_source": {"type": "string", "enum": ["user", "asr"],
                                        "nullable": True},
                        "audio": {"type": "object", "nullable": True, "properties": {
                            "duration_s": {"type": "number"},
                            "source_sample_rate": {"type": "integer"},
                            "source_channels": {"type": "integer"},
                            "source_format": {"type": "string"}}},
                    }},
                    "backend": {"type": "string"},
                    "elapsed_ms": {"type": "number"},
                },
            },
            "Health": {
                "type": "object",
                "properties": {
                    "status": {"type": "string", "enum": ["ok", "degraded", "unavailable"]},
                    "backend": {"type": "string"},
                    "models": {"type": "object", "additionalProperties": {
                        "type": "object", "properties": {
                            "status": {"type": "string"}, "version": {"type": "string"},
                            "reason": {"type": "string"}}}},
                    "asr": {"type": "object", "properties": {
                        "available": {"type": "boolean"}, "engine": {"type": "string"}}},
                    "limits": {"type": "object"},
                },
            },
            "Error": error,
        }},
    }
