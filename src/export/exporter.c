/* STUB: replaced by the export layer */
#include "ctflow/export.h"
#include "ctflow/error.h"
struct ctf_exporter { int dummy; };
void ctf_export_config_init(struct ctf_export_config *cfg) { *cfg = (struct ctf_export_config){0}; }
struct ctf_exporter *ctf_exporter_new(const struct ctf_export_config *cfg, GError **error) { return g_new0(struct ctf_exporter, 1); }
gboolean ctf_exporter_add_url(struct ctf_exporter *ex, const char *url, GError **error) { return TRUE; }
void ctf_exporter_add_view(struct ctf_exporter *ex, enum ctf_view_format fmt, FILE *fp) {}
void ctf_exporter_push(struct ctf_exporter *ex, const struct ctf_record *rec) {}
void ctf_exporter_tick(struct ctf_exporter *ex) {}
gboolean ctf_exporter_finish(struct ctf_exporter *ex, GError **error) { return TRUE; }
size_t ctf_exporter_n_outputs(const struct ctf_exporter *ex) { return 0; }
const char *ctf_exporter_output_name(const struct ctf_exporter *ex, size_t i) { return ""; }
void ctf_exporter_output_stats(const struct ctf_exporter *ex, size_t i, struct ctf_export_stats *ret_stats) {}
void ctf_exporter_free(struct ctf_exporter *ex) { g_free(ex); }
