"""A task-status backend of the kind the client is written for: FastAPI on uvicorn, the route
registered through nested routers as `/api/v1/ws/tasks/{user_id}`, the token a JWT in the query.

It accepts first and then checks the token; a refusal is an error frame and Starlette's default
close (1000), or one of the other ways FastAPI apps refuse (`--refuse`). Accepted, it sends a
`connected` ack (a line of text with `--greet`, counted in `/health`) and then task updates
(none with `--quiet`), and answers pings (`--pings text`: only a plain-text `ping`, as many
hand-written handlers do). With `--expire-sessions` it ends a session when its token expires,
with a `token_expired` error frame and the default close, and
`GET /api/v1/auth/token?user_id=2&ttl=1` signs new tokens.

With `--ack-first` it sends the `connected` ack before it checks the token (and refuses after
it), and with `--fail-checks N` the first N token checks cannot be made, as with a database
down: an error frame, then close 1013, "try again later" (counted in `/health`).

Started by the e2e tests; prints one JSON line once it listens: the port and test tokens.
"""

import argparse
import asyncio
import json
import os
import socket
import sys
import threading
import time
from datetime import datetime, timezone

import jwt
import uvicorn
from fastapi import APIRouter, FastAPI, Query, WebSocket
from starlette.websockets import WebSocketDisconnect

SECRET = "e2e-secret"

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, default=0)
parser.add_argument("--host", default="127.0.0.1", help="the address to listen on")
parser.add_argument(
    "--refuse",
    choices=["json", "text", "detail-1008", "close-4001", "before-accept"],
    default="json",
)
parser.add_argument("--auth-delay", type=float, default=0.0, help="seconds the token check takes")
parser.add_argument(
    "--accept-delay", type=float, default=0.0, help="seconds of work before accept (a busy server)"
)
parser.add_argument("--interval", type=float, default=0.05, help="seconds between task updates")
parser.add_argument("--ws", choices=["websockets", "wsproto"], default="websockets")
parser.add_argument("--expire-sessions", action="store_true")
parser.add_argument("--quiet", action="store_true", help="send no task updates")
parser.add_argument("--pings", choices=["json-and-text", "text"], default="json-and-text")
parser.add_argument(
    "--greet", action="store_true", help="greet in plain text instead of a connected ack"
)
parser.add_argument("--ack-first", action="store_true", help="ack before checking the token")
parser.add_argument("--fail-checks", type=int, default=0, help="token checks that fail (1013)")
parser.add_argument("--ssl-certfile", help="serve HTTPS and wss: with this certificate (PEM)")
parser.add_argument("--ssl-keyfile", help="and this key (PEM)")
args = parser.parse_args()


def claims_of(token: str):
    try:
        # `exp` is checked here, to the fraction of a second: PyJWT reads it in whole seconds.
        claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    except jwt.PyJWTError:
        return {}
    return claims if claims.get("exp", 0) > time.time() else {}


def user_of(token: str):
    sub = claims_of(token).get("sub")
    return None if sub is None else str(sub)


async def refuse(websocket: WebSocket) -> None:
    if args.refuse == "json":
        await websocket.send_text(json.dumps({"type": "error", "message": "Invalid token"}))
        await websocket.close()
    elif args.refuse == "text":
        await websocket.send_text("Authentication failed")
        await websocket.close()
    elif args.refuse == "detail-1008":
        await websocket.send_json({"detail": "Could not validate credentials"})
        await websocket.close(code=1008)
    elif args.refuse == "close-4001":
        await websocket.close(code=4001, reason="unauthorized")


async def push_updates(websocket: WebSocket) -> None:
    count = 0
    while True:
        count += 1
        task_id = 100 + count % 3
        done = count % 5 == 0
        update = {
            "type": "task_update",
            "task_id": task_id,
            "status": "completed" if done else "running",
            "progress": 100 if done else count % 100,
            "message": f"step {count}",
            "updated_at": datetime.now(timezone.utc).isoformat(),
        }
        if done:
            update["result"] = {"url": f"/files/{count}.png"}
        await websocket.send_json(update)
        await asyncio.sleep(args.interval)


router = APIRouter(prefix="/ws")
greeted = {"count": 0}
failed_checks = {"count": 0}


@router.websocket("/tasks/{user_id}")
async def task_status(websocket: WebSocket, user_id: int, token: str = Query(...)):
    if args.refuse == "before-accept" and user_of(token) != str(user_id):
        await websocket.close(code=1008)
        return
    if args.accept_delay:
        await asyncio.sleep(args.accept_delay)
    await websocket.accept()
    if args.ack_first:
        await websocket.send_json({"type": "connected", "message": "Connected"})
    if args.auth_delay:
        await asyncio.sleep(args.auth_delay)
    if failed_checks["count"] < args.fail_checks:
        failed_checks["count"] += 1
        await websocket.send_json({"type": "error", "message": "Database unavailable"})
        await websocket.close(code=1013)
        return
    if user_of(token) != str(user_id):
        await refuse(websocket)
        return
    if args.greet:
        await websocket.send_text("Welcome to the task stream")
        greeted["count"] += 1
    elif not args.ack_first:
        await websocket.send_json({"type": "connected", "user_id": user_id})
    expires = claims_of(token)["exp"] if args.expire_sessions else None
    pusher = None if args.quiet else asyncio.create_task(push_updates(websocket))
    try:
        while True:
            try:
                left = None if expires is None else max(0.0, expires - time.time())
                text = await asyncio.wait_for(websocket.receive_text(), timeout=left)
            except asyncio.TimeoutError:
                expired = {"type": "error", "code": "token_expired", "message": "Token has expired"}
                await websocket.send_json(expired)
                await websocket.close()
                return
            if text == "ping":
                await websocket.send_text("pong")
            elif args.pings != "text" and text.startswith("{") and json.loads(text).get("type") == "ping":
                await websocket.send_json({"type": "pong"})
    except WebSocketDisconnect:
        pass
    finally:
        if pusher is not None:
            pusher.cancel()


api = APIRouter(prefix="/api/v1")
api.include_router(router)
app = FastAPI()
app.include_router(api)


@app.get("/health")
def health():
    return {
        "status": "healthy",
        "greeted": greeted["count"],
        "failed_checks": failed_checks["count"],
    }


def token(user: str, expires_in: float) -> str:
    return jwt.encode({"sub": user, "exp": time.time() + expires_in}, SECRET, "HS256")


@app.get("/api/v1/auth/token")
def new_token(user_id: int, ttl: float = 3600):
    return {"access_token": token(str(user_id), ttl)}


# Ends with the test process that started it, however that ends: its stdin closes then.
threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind((args.host, args.port))
sock.listen(128)
tokens = {"good": token("2", 3600), "expired": token("2", -60), "otherUser": token("3", 3600)}
print(json.dumps({"port": sock.getsockname()[1], "tokens": tokens}), flush=True)
config = uvicorn.Config(
    app,
    log_level="warning",
    ws=args.ws,
    ssl_certfile=args.ssl_certfile,
    ssl_keyfile=args.ssl_keyfile,
)
uvicorn.Server(config).run(sockets=[sock])
