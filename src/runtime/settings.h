/* SPDX-License-Identifier: MIT */
/*
 * src/runtime/settings.h: the settings read at start (settings.c), from the
 * environment over the host-wide settings file over the built-in default.
 */
#ifndef PERCPU_SETTINGS_H
#define PERCPU_SETTINGS_H

enum setting_id {
	SETTING_DISABLE_RSEQ,
	SETTING_INDEX,
	SETTING_LEASES,
	SETTING_NUMA,
	SETTINGS
};

/* Read the environment and the file; once, at initialization. */
void percpu_settings_load(void);

/* The value in effect, as its environment variable would spell it; NULL
 * when neither the environment nor the file sets it. */
const char *percpu_setting_value(enum setting_id id);

/* Whether the value came from the settings file (else the environment). */
int percpu_setting_from_file(enum setting_id id);

/* Whether a disable_rseq value asks for lock mode ("0" and "" do not). */
int percpu_setting_disables(const char *value);

/* For the atfork handlers: the reload lock, held across fork. */
void percpu_settings_fork_prepare(void);
void percpu_settings_fork_parent(void);
void percpu_settings_fork_child(void);

#endif
