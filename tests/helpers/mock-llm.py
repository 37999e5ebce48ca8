#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A small streaming mock of two model APIs, for driving the real agent CLIs in tests.

    mock-llm.py PORTFILE LOGFILE [COMMAND]

Listens on 127.0.0.1 (a free port, written to PORTFILE once it accepts connections) and
appends one JSON line per request to LOGFILE. Serves:

  POST .../v1/messages   the Anthropic Messages API (Claude Code), streamed as server-sent
                         events (message_start, content_block_start/delta/stop,
                         message_delta, message_stop) when the request says "stream": true,
                         else one JSON message.
  POST .../responses     the OpenAI Responses API (Codex), streamed as server-sent events
                         (response.created, response.output_item.done, response.completed).
  GET  .../models        an empty model list.
  anything else          404, logged.

The script of a conversation, decided by the request itself (no hidden counter, so side
requests the CLIs make — titles, quota probes — do not shift it):
  - the last user input carries a tool result       -> answer the text "done".
  - the request offers a shell tool and the user's
    text contains "hutch-task"                       -> call that tool with COMMAND
                                                        (default: echo hello > out.txt).
  - otherwise                                        -> answer the text "ok".
"""

import http.server
import json
import os
import sys
import threading

PORTFILE, LOGFILE = sys.argv[1], sys.argv[2]
COMMAND = sys.argv[3] if len(sys.argv) > 3 else "echo hello > out.txt"
TRIGGER = "hutch-task"
LOCK = threading.Lock()


def log(entry):
    with LOCK, open(LOGFILE, "a") as f:
        f.write(json.dumps(entry, sort_keys=True) + "\n")


def texts(value):
    """Every string inside a JSON value (to look for the trigger and tool results)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from texts(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from texts(v)


# ---- Anthropic Messages API -------------------------------------------------------------


def anthropic_plan(body):
    """('tool', name, input) or ('text', text)."""
    msgs = body.get("messages") or []
    last = msgs[-1] if msgs else {}
    content = last.get("content")
    if isinstance(content, list) and any(
        isinstance(c, dict) and c.get("type") == "tool_result" for c in content
    ):
        return ("text", "done")
    tools = {t.get("name") for t in body.get("tools") or [] if isinstance(t, dict)}
    user = " ".join(texts([m.get("content") for m in msgs if m.get("role") == "user"]))
    if TRIGGER in user and "Bash" in tools:
        return ("tool", "Bash", {"command": COMMAND, "description": "Write out.txt"})
    return ("text", "ok")


def anthropic_events(body, plan, n):
    model = body.get("model", "mock")
    yield "message_start", {
        "type": "message_start",
        "message": {
            "id": "msg_mock_%d" % n, "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 1},
        },
    }
    if plan[0] == "tool":
        block = {"type": "tool_use", "id": "toolu_mock_%d" % n, "name": plan[1], "input": {}}
        delta = {"type": "input_json_delta", "partial_json": json.dumps(plan[2])}
        stop = "tool_use"
    else:
        block = {"type": "text", "text": ""}
        delta = {"type": "text_delta", "text": plan[1]}
        stop = "end_turn"
    yield "content_block_start", {"type": "content_block_start", "index": 0, "content_block": block}
    yield "ping", {"type": "ping"}
    yield "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}
    yield "content_block_stop", {"type": "content_block_stop", "index": 0}
    yield "message_delta", {
        "type": "message_delta",
        "delta": {"stop_reason": stop, "stop_sequence": None},
        "usage": {"output_tokens": 5},
    }
    yield "message_stop", {"type": "message_stop"}


def anthropic_message(body, plan, n):
    if plan[0] == "tool":
        content = [{"type": "tool_use", "id": "toolu_mock_%d" % n, "name": plan[1], "input": plan[2]}]
        stop = "tool_use"
    else:
        content = [{"type": "text", "text": plan[1]}]
        stop = "end_turn"
    return {
        "id": "msg_mock_%d" % n, "type": "message", "role": "assistant",
        "model": body.get("model", "mock"), "content": content, "stop_reason": stop,
        "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 5},
    }


# ---- OpenAI Responses API (Codex) -------------------------------------------------------

# Codex offers its shell under one of these names, depending on the version and model.
SHELL_TOOLS = (
    ("shell_command", lambda c: {"command": c}),
    ("shell", lambda c: {"command": ["bash", "-lc", c]}),
    ("exec_command", lambda c: {"cmd": c}),
)


def tool_name(t):
    return t.get("name") or (t.get("function") or {}).get("name")


def responses_plan(body):
    items = body.get("input") or []
    if isinstance(items, list) and items and isinstance(items[-1], dict) and \
            items[-1].get("type") in ("function_call_output", "custom_tool_call_output"):
        return ("text", "done")
    tools = {tool_name(t) for t in body.get("tools") or [] if isinstance(t, dict)}
    user = " ".join(texts([i.get("content") for i in items
                           if isinstance(i, dict) and i.get("role") == "user"]))
    if TRIGGER in user:
        for name, args in SHELL_TOOLS:
            if name in tools:
                return ("tool", name, args(COMMAND))
    return ("text", "ok")


def responses_events(plan, n):
    rid = "resp_mock_%d" % n
    yield {"type": "response.created", "response": {"id": rid}}
    if plan[0] == "tool":
        item = {"type": "function_call", "call_id": "call_mock_%d" % n, "name": plan[1],
                "arguments": json.dumps(plan[2])}
    else:
        item = {"type": "message", "role": "assistant", "id": "msg_mock_%d" % n,
                "content": [{"type": "output_text", "text": plan[1]}]}
        yield {"type": "response.output_item.added", "item": dict(item, content=[])}
        yield {"type": "response.output_text.delta", "delta": plan[1]}
    yield {"type": "response.output_item.done", "item": item}
    yield {"type": "response.completed", "response": {"id": rid, "usage": {
        "input_tokens": 10, "input_tokens_details": None, "output_tokens": 5,
        "output_tokens_details": None, "total_tokens": 15}}}


# ---- HTTP ---------------------------------------------------------------------------------

COUNTER = [0]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return {}

    def send(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def sse(self, events):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        for name, data in events:
            self.wfile.write(("event: %s\ndata: %s\n\n" % (name, json.dumps(data))).encode())
            self.wfile.flush()

    def do_GET(self):
        path = self.path.split("?")[0]
        log({"method": "GET", "path": path})
        if path.endswith("/models"):
            self.send(200, {"object": "list", "data": [], "models": []})
        else:
            self.send(404, {"error": {"type": "not_found", "message": path}})

    def do_HEAD(self):
        log({"method": "HEAD", "path": self.path})
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        path = self.path.split("?")[0]
        body = self.body()
        with LOCK:
            COUNTER[0] += 1
            n = COUNTER[0]
        entry = {"method": "POST", "path": path, "model": body.get("model"),
                 "stream": bool(body.get("stream"))}
        if path.endswith("/messages/count_tokens"):
            log(dict(entry, api="anthropic-count"))
            self.send(200, {"input_tokens": 10})
        elif path.endswith("/messages"):
            plan = anthropic_plan(body)
            log(dict(entry, api="anthropic", answer=list(plan[:2]),
                     tool_results=tool_results(body.get("messages") or [])))
            if body.get("stream"):
                self.sse(anthropic_events(body, plan, n))
            else:
                self.send(200, anthropic_message(body, plan, n))
        elif path.endswith("/responses"):
            plan = responses_plan(body)
            tools = sorted(filter(None, (tool_name(t) for t in body.get("tools") or [])))
            log(dict(entry, api="responses", answer=list(plan[:2]), tools=tools,
                     tool_results=tool_results(body.get("input") or [])))
            self.sse((e["type"], e) for e in responses_events(plan, n))
        else:
            log(dict(entry, api="unknown"))
            self.send(404, {"error": {"type": "not_found", "message": path}})


def tool_results(items):
    """The text of every tool result in a conversation (both APIs)."""
    out = []
    for i in items:
        if not isinstance(i, dict):
            continue
        if i.get("type") in ("function_call_output", "custom_tool_call_output"):
            out.append(" ".join(texts(i.get("output"))))
        c = i.get("content")
        if isinstance(c, list):
            for b in c:
                if isinstance(b, dict) and b.get("type") == "tool_result":
                    out.append(" ".join(texts(b.get("content"))))
    return out


def main():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    tmp = PORTFILE + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, PORTFILE)
    srv.serve_forever()


if __name__ == "__main__":
    main()
