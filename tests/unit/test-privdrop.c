/*
 * Privilege drop: the capability policy per configuration, the names
 * logged, and planning (the switch itself needs root and is tested end
 * to end by tests/live/test-live-privdrop.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/capability.h>

#include "ctflow/error.h"
#include "ctflow/privdrop.h"
#include "ctflow/run-config.h"

#define BIT CTF_CAP_BIT

static uint64_t needed(struct ctf_run_config *cfg, uint64_t *ret_ambient)
{
	uint64_t caps = ctf_privdrop_caps_needed(cfg, ret_ambient);

	ctf_run_config_clear(cfg);
	return caps;
}

static void test_null_plan(void **state)
{
	g_autoptr(GError) err = NULL;

	assert_true(ctf_privdrop_apply(NULL, &err));
	assert_null(err);
	assert_false(ctf_privdrop_is_active(NULL));
	ctf_privdrop_free(NULL);
}

static void test_defaults(void **state)
{
	struct ctf_run_config cfg;
	uint64_t amb = 1;

	ctf_run_config_init(&cfg);
	assert_int_equal(needed(&cfg, &amb),
			 BIT(CAP_NET_ADMIN) | BIT(CAP_SYS_PTRACE) | BIT(CAP_DAC_READ_SEARCH));
	assert_int_equal(amb, 0);
}

/* captures are open before the switch: sampling keeps no NET_RAW */
static void test_no_process(void **state)
{
	struct ctf_run_config cfg;
	uint64_t amb = 1;

	ctf_run_config_init(&cfg);
	cfg.enrich_process = false;
	assert_int_equal(needed(&cfg, &amb), BIT(CAP_NET_ADMIN));
	assert_int_equal(amb, 0);
	ctf_run_config_init(&cfg);
	cfg.enrich_process = false;
	cfg.enrich_interfaces = false;
	assert_int_equal(needed(&cfg, NULL), BIT(CAP_NET_ADMIN));
}

static void test_named_netns(void **state)
{
	struct ctf_run_config cfg;
	uint64_t amb = 1;

	ctf_run_config_init(&cfg);
	cfg.netns = g_strsplit("a,b", ",", -1);
	assert_int_equal(needed(&cfg, &amb),
			 BIT(CAP_NET_ADMIN) | BIT(CAP_SYS_PTRACE) | BIT(CAP_DAC_READ_SEARCH));
	assert_int_equal(amb, 0);
}

static void test_netns_all(void **state)
{
	struct ctf_run_config cfg;
	uint64_t amb = 0;

	ctf_run_config_init(&cfg);
	cfg.netns = g_strsplit("all", ",", -1);
	assert_int_equal(needed(&cfg, &amb),
			 BIT(CAP_NET_ADMIN) | BIT(CAP_SYS_PTRACE) | BIT(CAP_DAC_READ_SEARCH) |
			 BIT(CAP_SYS_ADMIN));
	assert_int_equal(amb, BIT(CAP_NET_ADMIN) | BIT(CAP_SYS_ADMIN));
	/* finding namespaces in /proc/PID/ns needs SYS_PTRACE without
	 * process enrichment too */
	ctf_run_config_init(&cfg);
	cfg.netns = g_strsplit("all", ",", -1);
	cfg.enrich_process = false;
	assert_int_equal(needed(&cfg, &amb),
			 BIT(CAP_NET_ADMIN) | BIT(CAP_SYS_ADMIN) | BIT(CAP_SYS_PTRACE));
	assert_int_equal(amb, BIT(CAP_NET_ADMIN) | BIT(CAP_SYS_ADMIN));
}

static void expect_caps_string(uint64_t caps, const char *want)
{
	g_autofree char *s = ctf_caps_to_string(caps);

	assert_string_equal(s, want);
}

static void test_caps_to_string(void **state)
{
	expect_caps_string(0, "none");
	expect_caps_string(BIT(CAP_NET_ADMIN), "cap_net_admin");
	expect_caps_string(BIT(CAP_DAC_READ_SEARCH) | BIT(CAP_NET_ADMIN) | BIT(CAP_SYS_PTRACE),
			   "cap_dac_read_search,cap_net_admin,cap_sys_ptrace");
	expect_caps_string(BIT(CAP_CHECKPOINT_RESTORE) | BIT(63),
			   "cap_checkpoint_restore,cap_63");
}

static struct ctf_privdrop *plan_for(const char *user, GError **err)
{
	struct ctf_run_config cfg;
	struct ctf_privdrop *pd;

	ctf_run_config_init(&cfg);
	cfg.user = g_strdup(user);
	pd = ctf_privdrop_new(&cfg, err);
	ctf_run_config_clear(&cfg);
	return pd;
}

static void test_plan(void **state)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(ctf_privdrop) none = plan_for(NULL, &err);
	g_autoptr(ctf_privdrop) empty = plan_for("", &err);
	g_autoptr(ctf_privdrop) unknown = NULL;

	assert_non_null(none);
	assert_false(ctf_privdrop_is_active(none));
	assert_true(ctf_privdrop_apply(none, &err));
	assert_non_null(empty);
	assert_false(ctf_privdrop_is_active(empty));
	unknown = plan_for("ctflow-no-such-user-8d1f", &err);
	if (geteuid() != 0) {
		/* not root: nothing to switch, whatever the name */
		assert_non_null(unknown);
		assert_false(ctf_privdrop_is_active(unknown));
		return;
	}
	assert_null(unknown);
	assert_true(g_error_matches(err, CTF_ERROR, CTF_ERROR_USAGE));
	assert_non_null(strstr(err->message, "no user named 'ctflow-no-such-user-8d1f'"));
	g_clear_error(&err);
	assert_null(plan_for("root", &err));
	assert_true(g_error_matches(err, CTF_ERROR, CTF_ERROR_USAGE));
	assert_non_null(strstr(err->message, "uid 0"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_null_plan),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_no_process),
		cmocka_unit_test(test_named_netns),
		cmocka_unit_test(test_netns_all),
		cmocka_unit_test(test_caps_to_string),
		cmocka_unit_test(test_plan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
