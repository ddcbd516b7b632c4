/*
 * The service manager's readiness protocol without libsystemd: one
 * datagram to $NOTIFY_SOCKET (a path, or "@name" for an abstract socket),
 * as systemd's Type=notify expects ("READY=1", "STOPPING=1", "STATUS=...").
 */
#pragma once

/**
 * ctf_sd_notify - send @state to the service manager
 *
 * Returns 1 when sent, 0 when not started by one ($NOTIFY_SOCKET unset),
 * a negative errno when sending failed (the caller logs it; nothing else
 * depends on it).
 */
int ctf_sd_notify(const char *state);
