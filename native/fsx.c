// fsx: the file-system calls the copier needs and Node's fs lacks (docs/developer-reference.md,
// "The native addon"): nanosecond timestamps (futimens, utimensat), extended attributes (l/f
// list, get, set), SEEK_DATA/SEEK_HOLE, mknod for FIFOs and sockets, and chmod without following a
// symlink. Every function is synchronous, or, given a callback as its last argument, runs on libuv's
// thread pool (napi_async_work) and calls back (error, result) as fs's callbacks do: on a network
// file system each call is a round trip, and a blocking one would stall every file in flight.
//
// Paths are strings (UTF-8) or Buffers (raw bytes: names that are not UTF-8, copier/fs/names.ts).
// Errors carry `code` ("ENOTSUP", ...), `errno` (negative, like libuv's) and `syscall`, so the
// copier's errnoCode() reads them as it reads fs's. N-API only (node_api.h): the binary is
// ABI-stable across Node versions, and NAPI_MODULE_INIT makes it load in every worker thread.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>
#define NAPI_VERSION 8
#include <node_api.h>

typedef enum {
  OP_FUTIMENS, OP_LUTIMENS, OP_FLISTXATTR, OP_LLISTXATTR, OP_FGETXATTR, OP_LGETXATTR,
  OP_FSETXATTR, OP_LSETXATTR, OP_SEEK_DATA, OP_SEEK_HOLE, OP_MKNOD, OP_LCHMOD,
} op_kind;

static const char *const SYSCALL_NAMES[] = {
  "futimens", "utimensat", "flistxattr", "llistxattr", "fgetxattr", "lgetxattr",
  "fsetxattr", "lsetxattr", "lseek", "lseek", "mknod", "fchmodat",
};

typedef struct {
  op_kind kind;
  int fd;
  char *path;
  char *name;
  char *value;
  size_t value_length;
  struct timespec times[2];
  int64_t offset;
  uint32_t mode;
  // results
  int error;  // errno, 0 on success
  int64_t number;
  char *data;
  size_t data_length;
  // async
  napi_async_work work;
  napi_ref callback;
} op_t;

static void op_free(op_t *op) {
  free(op->path);
  free(op->name);
  free(op->value);
  free(op->data);
  free(op);
}

// listxattr/getxattr into a malloc'd buffer: ask the size, then read; the value can grow in between
// (ERANGE), so ask again.
static void read_sized(op_t *op) {
  for (int attempt = 0; attempt < 8; attempt++) {
    ssize_t size;
    switch (op->kind) {
      case OP_FLISTXATTR: size = flistxattr(op->fd, NULL, 0); break;
      case OP_LLISTXATTR: size = llistxattr(op->path, NULL, 0); break;
      case OP_FGETXATTR: size = fgetxattr(op->fd, op->name, NULL, 0); break;
      default: size = lgetxattr(op->path, op->name, NULL, 0); break;
    }
    if (size < 0) {
      op->error = errno;
      return;
    }
    free(op->data);
    op->data = malloc(size > 0 ? (size_t)size : 1);
    if (!op->data) {
      op->error = ENOMEM;
      return;
    }
    if (size == 0) {
      op->data_length = 0;
      return;
    }
    ssize_t got;
    switch (op->kind) {
      case OP_FLISTXATTR: got = flistxattr(op->fd, op->data, (size_t)size); break;
      case OP_LLISTXATTR: got = llistxattr(op->path, op->data, (size_t)size); break;
      case OP_FGETXATTR: got = fgetxattr(op->fd, op->name, op->data, (size_t)size); break;
      default: got = lgetxattr(op->path, op->name, op->data, (size_t)size); break;
    }
    if (got >= 0) {
      op->data_length = (size_t)got;
      return;
    }
    if (errno != ERANGE) {
      op->error = errno;
      return;
    }
  }
  op->error = ERANGE;
}

static void op_run(op_t *op) {
  int rc = 0;
  off_t at;
  switch (op->kind) {
    case OP_FUTIMENS: rc = futimens(op->fd, op->times); break;
    case OP_LUTIMENS: rc = utimensat(AT_FDCWD, op->path, op->times, AT_SYMLINK_NOFOLLOW); break;
    case OP_FLISTXATTR: case OP_LLISTXATTR: case OP_FGETXATTR: case OP_LGETXATTR: read_sized(op); return;
    case OP_FSETXATTR: rc = fsetxattr(op->fd, op->name, op->value, op->value_length, 0); break;
    case OP_LSETXATTR: rc = lsetxattr(op->path, op->name, op->value, op->value_length, 0); break;
    case OP_SEEK_DATA: case OP_SEEK_HOLE:
      at = lseek(op->fd, (off_t)op->offset, op->kind == OP_SEEK_DATA ? SEEK_DATA : SEEK_HOLE);
      // ENXIO: no data at or after the offset (SEEK_DATA), answered as -1 rather than thrown
      if (at < 0 && errno == ENXIO) op->number = -1;
      else if (at < 0) rc = -1;
      else op->number = (int64_t)at;
      break;
    case OP_MKNOD: rc = mknod(op->path, (mode_t)op->mode, 0); break;
    case OP_LCHMOD: rc = fchmodat(AT_FDCWD, op->path, (mode_t)op->mode, AT_SYMLINK_NOFOLLOW); break;
  }
  if (rc < 0) op->error = errno;
}

// An fs-like error: "ENOTSUP: Operation not supported, lsetxattr '/x'".
static napi_value make_error(napi_env env, const op_t *op) {
  const char *code = strerrorname_np(op->error);
  char code_buffer[16];
  if (!code) {
    snprintf(code_buffer, sizeof code_buffer, "E%d", op->error);
    code = code_buffer;
  }
  // libuv calls EOPNOTSUPP (the same number on Linux) ENOTSUP: so does this
  if (op->error == EOPNOTSUPP) code = "ENOTSUP";
  const char *syscall = SYSCALL_NAMES[op->kind];
  size_t length = strlen(code) + strlen(strerror(op->error)) + strlen(syscall) + (op->path ? strlen(op->path) : 0) + 16;
  char *text = malloc(length);
  if (!text) return NULL;
  if (op->path) snprintf(text, length, "%s: %s, %s '%s'", code, strerror(op->error), syscall, op->path);
  else snprintf(text, length, "%s: %s, %s", code, strerror(op->error), syscall);
  napi_value message, error, value;
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message);
  free(text);
  napi_create_error(env, NULL, message, &error);
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &value);
  napi_set_named_property(env, error, "code", value);
  napi_create_int32(env, -op->error, &value);
  napi_set_named_property(env, error, "errno", value);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &value);
  napi_set_named_property(env, error, "syscall", value);
  if (op->path) {
    napi_create_string_utf8(env, op->path, NAPI_AUTO_LENGTH, &value);
    napi_set_named_property(env, error, "path", value);
  }
  return error;
}

static napi_value make_result(napi_env env, const op_t *op) {
  napi_value result;
  switch (op->kind) {
    case OP_FLISTXATTR: case OP_LLISTXATTR: case OP_FGETXATTR: case OP_LGETXATTR:
      napi_create_buffer_copy(env, op->data_length, op->data, NULL, &result);
      return result;
    case OP_SEEK_DATA: case OP_SEEK_HOLE:
      napi_create_int64(env, op->number, &result);
      return result;
    default:
      napi_get_undefined(env, &result);
      return result;
  }
}

static void async_execute(napi_env env, void *data) {
  (void)env;
  op_run((op_t *)data);
}

static void async_complete(napi_env env, napi_status status, void *data) {
  op_t *op = data;
  napi_value callback, global, argv[2];
  napi_get_reference_value(env, op->callback, &callback);
  napi_get_global(env, &global);
  if (status != napi_ok && op->error == 0) op->error = ECANCELED;
  if (op->error) {
    argv[0] = make_error(env, op);
    napi_get_undefined(env, &argv[1]);
  } else {
    napi_get_null(env, &argv[0]);
    argv[1] = make_result(env, op);
  }
  napi_delete_reference(env, op->callback);
  napi_delete_async_work(env, op->work);
  op_free(op);
  napi_call_function(env, global, callback, 2, argv, NULL);
}

// --- argument parsing ----------------------------------------------------------------------------

static bool throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return false;
}

// A path or name: a string (UTF-8) or a Buffer (raw bytes), copied NUL-terminated; NUL inside is refused.
static bool get_bytes(napi_env env, napi_value value, char **out, const char *what) {
  napi_valuetype type;
  napi_typeof(env, value, &type);
  if (type == napi_string) {
    size_t length;
    napi_get_value_string_utf8(env, value, NULL, 0, &length);
    *out = malloc(length + 1);
    if (!*out) return throw_type(env, "out of memory");
    napi_get_value_string_utf8(env, value, *out, length + 1, &length);
    if (strlen(*out) != length) return throw_type(env, what);
    return true;
  }
  bool is_buffer = false;
  napi_is_buffer(env, value, &is_buffer);
  if (!is_buffer) return throw_type(env, what);
  void *data;
  size_t length;
  napi_get_buffer_info(env, value, &data, &length);
  if (memchr(data, 0, length)) return throw_type(env, what);
  *out = malloc(length + 1);
  if (!*out) return throw_type(env, "out of memory");
  memcpy(*out, data, length);
  (*out)[length] = 0;
  return true;
}

static bool get_fd(napi_env env, napi_value value, int *fd) {
  if (napi_get_value_int32(env, value, fd) != napi_ok || *fd < 0) return throw_type(env, "fd must be a non-negative integer");
  return true;
}

// Seconds (BigInt) and nanoseconds (0..999999999) into both timespecs (atime = mtime, as the copier
// keeps no atime).
static bool get_time(napi_env env, napi_value seconds, napi_value nanoseconds, struct timespec times[2]) {
  int64_t sec;
  bool lossless;
  uint32_t nsec;
  if (napi_get_value_bigint_int64(env, seconds, &sec, &lossless) != napi_ok || !lossless) return throw_type(env, "seconds must be a BigInt that fits in 64 bits");
  if (napi_get_value_uint32(env, nanoseconds, &nsec) != napi_ok || nsec > 999999999u) return throw_type(env, "nanoseconds must be an integer in 0..999999999");
  times[0].tv_sec = times[1].tv_sec = (time_t)sec;
  times[0].tv_nsec = times[1].tv_nsec = (long)nsec;
  return true;
}

// Runs the op now (returning its result or throwing), or with a callback as argument `callback_index`,
// on the thread pool.
static napi_value dispatch(napi_env env, op_t *op, size_t argc, napi_value *argv, size_t callback_index) {
  napi_valuetype type = napi_undefined;
  if (argc > callback_index) napi_typeof(env, argv[callback_index], &type);
  if (type == napi_function) {
    napi_value name;
    napi_create_string_utf8(env, SYSCALL_NAMES[op->kind], NAPI_AUTO_LENGTH, &name);
    napi_create_reference(env, argv[callback_index], 1, &op->callback);
    napi_create_async_work(env, NULL, name, async_execute, async_complete, op, &op->work);
    napi_queue_async_work(env, op->work);
    return NULL;
  }
  op_run(op);
  napi_value result = NULL;
  if (op->error) napi_throw(env, make_error(env, op));
  else result = make_result(env, op);
  op_free(op);
  return result;
}

#define ARGS(n)                                                   \
  size_t argc = (n) + 1;                                          \
  napi_value argv[(n) + 1];                                       \
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);           \
  if (argc < (n)) {                                               \
    throw_type(env, "missing arguments");                         \
    return NULL;                                                  \
  }                                                               \
  op_t *op = calloc(1, sizeof(op_t));                             \
  if (!op) return NULL;

#define CHECK(call) \
  if (!(call)) {    \
    op_free(op);    \
    return NULL;    \
  }

// futimens(fd, seconds: bigint, nanoseconds: number[, callback])
static napi_value Futimens(napi_env env, napi_callback_info info) {
  ARGS(3)
  op->kind = OP_FUTIMENS;
  CHECK(get_fd(env, argv[0], &op->fd) && get_time(env, argv[1], argv[2], op->times))
  return dispatch(env, op, argc, argv, 3);
}

// lutimens(path, seconds: bigint, nanoseconds: number[, callback]): utimensat, never following
static napi_value Lutimens(napi_env env, napi_callback_info info) {
  ARGS(3)
  op->kind = OP_LUTIMENS;
  CHECK(get_bytes(env, argv[0], &op->path, "path must be a string or Buffer without NUL") && get_time(env, argv[1], argv[2], op->times))
  return dispatch(env, op, argc, argv, 3);
}

// flistxattr(fd[, callback]) / llistxattr(path[, callback]): the names, NUL-terminated, in one Buffer
static napi_value Flistxattr(napi_env env, napi_callback_info info) {
  ARGS(1)
  op->kind = OP_FLISTXATTR;
  CHECK(get_fd(env, argv[0], &op->fd))
  return dispatch(env, op, argc, argv, 1);
}

static napi_value Llistxattr(napi_env env, napi_callback_info info) {
  ARGS(1)
  op->kind = OP_LLISTXATTR;
  CHECK(get_bytes(env, argv[0], &op->path, "path must be a string or Buffer without NUL"))
  return dispatch(env, op, argc, argv, 1);
}

// fgetxattr(fd, name[, callback]) / lgetxattr(path, name[, callback]): the value as a Buffer
static napi_value Fgetxattr(napi_env env, napi_callback_info info) {
  ARGS(2)
  op->kind = OP_FGETXATTR;
  CHECK(get_fd(env, argv[0], &op->fd) && get_bytes(env, argv[1], &op->name, "name must be a string or Buffer without NUL"))
  return dispatch(env, op, argc, argv, 2);
}

static napi_value Lgetxattr(napi_env env, napi_callback_info info) {
  ARGS(2)
  op->kind = OP_LGETXATTR;
  CHECK(get_bytes(env, argv[0], &op->path, "path must be a string or Buffer without NUL") && get_bytes(env, argv[1], &op->name, "name must be a string or Buffer without NUL"))
  return dispatch(env, op, argc, argv, 2);
}

static bool get_value(napi_env env, napi_value value, op_t *op) {
  bool is_buffer = false;
  napi_is_buffer(env, value, &is_buffer);
  if (!is_buffer) return throw_type(env, "value must be a Buffer");
  void *data;
  napi_get_buffer_info(env, value, &data, &op->value_length);
  op->value = malloc(op->value_length > 0 ? op->value_length : 1);
  if (!op->value) return throw_type(env, "out of memory");
  memcpy(op->value, data, op->value_length);
  return true;
}

// fsetxattr(fd, name, value: Buffer[, callback]) / lsetxattr(path, name, value[, callback])
static napi_value Fsetxattr(napi_env env, napi_callback_info info) {
  ARGS(3)
  op->kind = OP_FSETXATTR;
  CHECK(get_fd(env, argv[0], &op->fd) && get_bytes(env, argv[1], &op->name, "name must be a string or Buffer without NUL") && get_value(env, argv[2], op))
  return dispatch(env, op, argc, argv, 3);
}

static napi_value Lsetxattr(napi_env env, napi_callback_info info) {
  ARGS(3)
  op->kind = OP_LSETXATTR;
  CHECK(get_bytes(env, argv[0], &op->path, "path must be a string or Buffer without NUL") && get_bytes(env, argv[1], &op->name, "name must be a string or Buffer without NUL") && get_value(env, argv[2], op))
  return dispatch(env, op, argc, argv, 3);
}

// seekData(fd, offset[, callback]) / seekHole(...): lseek's answer, or -1 for ENXIO (no more data)
static napi_value seek(napi_env env, napi_callback_info info, op_kind kind) {
  ARGS(2)
  op->kind = kind;
  CHECK(get_fd(env, argv[0], &op->fd))
  if (napi_get_value_int64(env, argv[1], &op->offset) != napi_ok || op->offset < 0) {
    op_free(op);
    throw_type(env, "offset must be a non-negative integer");
    return NULL;
  }
  return dispatch(env, op, argc, argv, 2);
}

static napi_value SeekData(napi_env env, napi_callback_info info) {
  return seek(env, info, OP_SEEK_DATA);
}

static napi_value SeekHole(napi_env env, napi_callback_info info) {
  return seek(env, info, OP_SEEK_HOLE);
}

// (path, mode[, callback]) for `kind`: mode must pass `valid`, else a TypeError saying `expected`
static napi_value path_mode(napi_env env, napi_callback_info info, op_kind kind, int (*valid)(uint32_t), const char *expected) {
  ARGS(2)
  op->kind = kind;
  CHECK(get_bytes(env, argv[0], &op->path, "path must be a string or Buffer without NUL"))
  if (napi_get_value_uint32(env, argv[1], &op->mode) != napi_ok || !valid(op->mode)) {
    op_free(op);
    throw_type(env, expected);
    return NULL;
  }
  return dispatch(env, op, argc, argv, 2);
}

static int fifo_or_socket(uint32_t mode) {
  return S_ISFIFO(mode) || S_ISSOCK(mode);
}

static int permission_bits(uint32_t mode) {
  return mode <= 07777;
}

// mknod(path, mode[, callback]): a FIFO or a socket (S_IFIFO / S_IFSOCK in mode); device nodes are
// refused here, the copier never makes one
static napi_value Mknod(napi_env env, napi_callback_info info) {
  return path_mode(env, info, OP_MKNOD, fifo_or_socket, "mode must be S_IFIFO or S_IFSOCK with permission bits");
}

// lchmod(path, mode[, callback]): fchmodat(AT_SYMLINK_NOFOLLOW), for entries no descriptor can be
// opened on without side effects (a socket; a FIFO without a reader); fails on a symlink
static napi_value Lchmod(napi_env env, napi_callback_info info) {
  return path_mode(env, info, OP_LCHMOD, permission_bits, "mode must be permission bits (0..0o7777)");
}

NAPI_MODULE_INIT() {
  napi_property_descriptor properties[] = {
    { "futimens", NULL, Futimens, NULL, NULL, NULL, napi_enumerable, NULL },
    { "lutimens", NULL, Lutimens, NULL, NULL, NULL, napi_enumerable, NULL },
    { "flistxattr", NULL, Flistxattr, NULL, NULL, NULL, napi_enumerable, NULL },
    { "llistxattr", NULL, Llistxattr, NULL, NULL, NULL, napi_enumerable, NULL },
    { "fgetxattr", NULL, Fgetxattr, NULL, NULL, NULL, napi_enumerable, NULL },
    { "lgetxattr", NULL, Lgetxattr, NULL, NULL, NULL, napi_enumerable, NULL },
    { "fsetxattr", NULL, Fsetxattr, NULL, NULL, NULL, napi_enumerable, NULL },
    { "lsetxattr", NULL, Lsetxattr, NULL, NULL, NULL, napi_enumerable, NULL },
    { "seekData", NULL, SeekData, NULL, NULL, NULL, napi_enumerable, NULL },
    { "seekHole", NULL, SeekHole, NULL, NULL, NULL, napi_enumerable, NULL },
    { "mknod", NULL, Mknod, NULL, NULL, NULL, napi_enumerable, NULL },
    { "lchmod", NULL, Lchmod, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties);
  return exports;
}
