/*
 * registry.c — every device driver hallqd knows, in one table (gpsd's gpsd_driver_array[]).
 * Adding a vendor is its file in drivers/ and one row here; the host and the config loader
 * only ever loop over this table.
 */
#include <string.h>

#include "driver.h"
#include "hallbus_drv.h"
#include "idcard_drv.h"
#include "ledbar_drv.h"
#include "onbon_drv.h"

/* The first driver of each role is the default of that role (hq_driver_default). */
const struct hq_driver *const hq_drivers[] = {
    &hq_driver_sam, &hq_driver_ff68, &hq_driver_a090, &hq_driver_onbon, NULL,
};

const struct hq_driver *hq_driver_find(const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; hq_drivers[i]; i++) {
        const struct hq_driver *d = hq_drivers[i];
        if (strcmp(d->name, name) == 0) return d;
        for (size_t k = 0; d->aliases && d->aliases[k]; k++)
            if (strcmp(d->aliases[k], name) == 0) return d;
    }
    return NULL;
}

const struct hq_driver *hq_driver_default(int role)
{
    for (size_t i = 0; hq_drivers[i]; i++)
        if (hq_drivers[i]->role == role) return hq_drivers[i];
    return NULL;
}

const char *hq_health_name(int h)
{
    static const char *const n[] = {"unknown", "online", "offline", "faulty"};
    return h >= 0 && h <= HQ_HEALTH_FAULTY ? n[h] : "unknown";
}

const char *hq_health_zh(int h)
{
    static const char *const n[] = {"未知", "在线", "离线", "故障"};
    return h >= 0 && h <= HQ_HEALTH_FAULTY ? n[h] : "未知";
}
