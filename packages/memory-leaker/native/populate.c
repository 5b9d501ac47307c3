// populate(view, pages, pageSize, hugePageSize) -> boolean
//
// Makes the first `pages` pages of a typed array's memory resident and writable, exactly the pages
// that one JavaScript write per page would fault in (the pages holding byte k * pageSize), without
// a page fault per page: madvise(MADV_POPULATE_WRITE) (Linux 5.14+) populates the range inside the
// kernel. The content is not changed. Returns false when the kernel refuses (older kernel, other
// OS), so the caller falls back to writing one byte per page.
#define NAPI_VERSION 8
#include <node_api.h>
#include <stdint.h>
#include <stdbool.h>
#ifdef __linux__
#include <errno.h>
#include <sys/mman.h>
#endif

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static napi_value populate(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_value result;
  bool ok = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) goto done;
  bool is_typedarray = false;
  napi_is_typedarray(env, argv[0], &is_typedarray);
  if (!is_typedarray) goto done;
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  size_t byte_offset = 0;
  if (napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, &byte_offset) != napi_ok) goto done;
  if (type != napi_uint8_array || data == NULL || length == 0) goto done;
  double pages_d = 0, page_d = 0;
  if (napi_get_value_double(env, argv[1], &pages_d) != napi_ok) goto done;
  if (napi_get_value_double(env, argv[2], &page_d) != napi_ok) goto done;
  uintptr_t page = (uintptr_t)page_d;
  uintptr_t pages = (uintptr_t)pages_d;
  if (page == 0 || (page & (page - 1)) != 0) goto done;
  double huge_d = 0;
  if (argc >= 4) napi_get_value_double(env, argv[3], &huge_d);
  uintptr_t huge_size = huge_d > 0 ? (uintptr_t)huge_d : 0;
  if ((huge_size & (huge_size - 1)) != 0 || huge_size <= page) huge_size = 0;
  if (pages == 0) {
    ok = true;
    goto done;
  }
#ifdef __linux__
  uintptr_t first = (uintptr_t)data;
  uintptr_t start = first & ~(page - 1);
  uintptr_t end = start + pages * page;
  // Never beyond the page that holds the array's last byte.
  uintptr_t limit = ((first + length - 1) & ~(page - 1)) + page;
  if (end > limit) end = limit;
  // Where transparent huge pages are opt-in (madvise mode), ask for them on the huge-aligned part
  // of the range only: those huge pages lie wholly inside the range, which is populated anyway, so
  // resident memory stays exactly the requested pages, with one fault per huge page (2 MiB on
  // x86-64) instead of one per small page.
  if (huge_size != 0) {
    uintptr_t huge_start = (start + huge_size - 1) & ~(huge_size - 1);
    uintptr_t huge_end = end & ~(huge_size - 1);
    if (huge_end > huge_start) madvise((void *)huge_start, huge_end - huge_start, MADV_HUGEPAGE);
  }
  int rc;
  do {
    rc = madvise((void *)start, end - start, MADV_POPULATE_WRITE);
  } while (rc != 0 && errno == EINTR);
  ok = rc == 0;
#endif
done:
  napi_get_boolean(env, ok, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "populate", NAPI_AUTO_LENGTH, populate, NULL, &fn) == napi_ok) {
    napi_set_named_property(env, exports, "populate", fn);
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
