#include "mpiseg/io/h5/h5.hpp"

#include <algorithm>
#include <cstring>
#include <exception>
#include <fmt/format.h>
#include <fstream>

#include "mpiseg/core/error.hpp"
#include "mpiseg/core/interrupt.hpp"
#include "mpiseg/core/posix_file.hpp"

namespace mpiseg::h5 {
namespace {

// HDF5 prints its error stack to stderr by default; mpiseg reports it inside the exception.
void silence_automatic_error_printing() {
  static const bool done = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)done;
}

herr_t collect_error(unsigned depth, const H5E_error2_t* error, void* client) {
  auto* text = static_cast<std::string*>(client);
  if (depth < 4) {
    if (!text->empty()) *text += "; ";
    *text += fmt::format("{} ({})", error->desc != nullptr ? error->desc : "?", error->func_name);
  }
  return 0;
}

std::string error_stack() {
  std::string text;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_error, &text);
  H5Eclear2(H5E_DEFAULT);
  return text.empty() ? std::string("no HDF5 error detail") : text;
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t slash = path.find('/', start);
    const std::size_t end = slash == std::string_view::npos ? path.size() : slash;
    if (end > start) parts.emplace_back(path.substr(start, end - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return parts;
}

std::string child_path(const std::string& parent, std::string_view name) {
  // Built by appending: GCC 12 reports a false -Wrestrict on "/" + std::string.
  std::string path = parent;
  if (path.empty() || path.back() != '/') path += '/';
  path.append(name);
  return path;
}

Handle string_type(std::size_t length) {
  Handle type(check_id(H5Tcopy(H5T_C_S1), "H5Tcopy"));
  check(H5Tset_size(type.id(), std::max<std::size_t>(length, 1)), "H5Tset_size");
  check(H5Tset_strpad(type.id(), H5T_STR_NULLPAD), "H5Tset_strpad");
  check(H5Tset_cset(type.id(), H5T_CSET_UTF8), "H5Tset_cset");
  return type;
}

Handle open_attribute(hid_t object, std::string_view name, const std::string& where) {
  return Handle(check_id(H5Aopen(object, std::string(name).c_str(), H5P_DEFAULT),
                         fmt::format("{}: cannot open attribute '{}'", where, name)));
}

void replace_attribute(hid_t object, std::string_view name, hid_t type, hid_t space, const void* data,
                       const std::string& where) {
  const std::string key(name);
  if (H5Aexists(object, key.c_str()) > 0) check(H5Adelete(object, key.c_str()), "H5Adelete");
  Handle attribute(check_id(H5Acreate2(object, key.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT),
                            fmt::format("{}: cannot create attribute '{}'", where, name)));
  check(H5Awrite(attribute.id(), type, data), fmt::format("{}: cannot write attribute '{}'", where, name));
}

template <class T>
void write_array_attribute(hid_t object, std::string_view name, std::span<const T> values, const std::string& where) {
  const hsize_t dims[1] = {values.size()};
  Handle space(check_id(H5Screate_simple(1, dims, nullptr), "H5Screate_simple"));
  replace_attribute(object, name, native_type<T>(), space.id(), values.data(), where);
}

template <class T>
std::vector<T> read_array_attribute(hid_t object, std::string_view name, const std::string& where) {
  Handle attribute = open_attribute(object, name, where);
  Handle space(check_id(H5Aget_space(attribute.id()), "H5Aget_space"));
  const hssize_t count = H5Sget_simple_extent_npoints(space.id());
  std::vector<T> values(static_cast<std::size_t>(std::max<hssize_t>(count, 0)));
  check(H5Aread(attribute.id(), native_type<T>(), values.data()),
        fmt::format("{}: cannot read attribute '{}'", where, name));
  return values;
}

}  // namespace

void check(herr_t status, std::string_view what) {
  if (status < 0) throw IoError(fmt::format("{}: {}", what, error_stack()));
}

hid_t check_id(hid_t id, std::string_view what) {
  if (id < 0) throw IoError(fmt::format("{}: {}", what, error_stack()));
  return id;
}

void Handle::reset() noexcept {
  if (id_ >= 0) {
    H5Idec_ref(id_);
    H5Eclear2(H5E_DEFAULT);
    id_ = H5I_INVALID_HID;
  }
}

// ---------------------------------------------------------------- Group

std::string Group::describe(std::string_view member) const {
  return file_->path().string() + ":" + (member.empty() ? path_ : child_path(path_, member));
}

Group Group::create_group(std::string_view name) {
  Handle link_list(check_id(H5Pcreate(H5P_LINK_CREATE), "H5Pcreate"));
  check(H5Pset_create_intermediate_group(link_list.id(), 1), "H5Pset_create_intermediate_group");
  Handle group(check_id(H5Gcreate2(handle_.id(), std::string(name).c_str(), link_list.id(), H5P_DEFAULT, H5P_DEFAULT),
                        fmt::format("cannot create group {}", describe(name))));
  return Group(*file_, std::move(group), child_path(path_, name));
}

Group Group::open_group(std::string_view name) const {
  if (!exists(name)) throw IoError(fmt::format("{}: missing group '{}'", describe(""), name));
  Handle group(check_id(H5Gopen2(handle_.id(), std::string(name).c_str(), H5P_DEFAULT),
                        fmt::format("cannot open group {}", describe(name))));
  return Group(*file_, std::move(group), child_path(path_, name));
}

bool Group::exists(std::string_view name) const {
  std::string prefix;
  for (const std::string& part : split_path(name)) {
    prefix += prefix.empty() ? part : "/" + part;
    const htri_t found = H5Lexists(handle_.id(), prefix.c_str(), H5P_DEFAULT);
    if (found <= 0) {
      H5Eclear2(H5E_DEFAULT);
      return false;
    }
  }
  return !prefix.empty();
}

std::vector<std::string> Group::members() const {
  std::vector<std::string> names;
  auto collect = [](hid_t, const char* name, const H5L_info_t*, void* client) -> herr_t {
    static_cast<std::vector<std::string>*>(client)->emplace_back(name);
    return 0;
  };
  hsize_t index = 0;
  check(H5Literate(handle_.id(), H5_INDEX_NAME, H5_ITER_INC, &index, collect, &names),
        fmt::format("cannot list {}", describe("")));
  std::sort(names.begin(), names.end());
  return names;
}

void Group::write_attribute(std::string_view name, std::string_view value) {
  if (value.find('\0') != std::string_view::npos)
    throw IoError(fmt::format("{}: attribute '{}' contains a NUL byte", describe(""), name));
  Handle type = string_type(value.size());
  Handle space(check_id(H5Screate(H5S_SCALAR), "H5Screate"));
  std::string buffer(std::max<std::size_t>(value.size(), 1), '\0');
  std::memcpy(buffer.data(), value.data(), value.size());
  replace_attribute(handle_.id(), name, type.id(), space.id(), buffer.data(), describe(""));
}

void Group::write_attribute(std::string_view name, std::int64_t value) {
  Handle space(check_id(H5Screate(H5S_SCALAR), "H5Screate"));
  replace_attribute(handle_.id(), name, H5T_NATIVE_INT64, space.id(), &value, describe(""));
}

void Group::write_attribute(std::string_view name, double value) {
  Handle space(check_id(H5Screate(H5S_SCALAR), "H5Screate"));
  replace_attribute(handle_.id(), name, H5T_NATIVE_DOUBLE, space.id(), &value, describe(""));
}

void Group::write_attribute(std::string_view name, std::span<const double> values) {
  write_array_attribute(handle_.id(), name, values, describe(""));
}

void Group::write_attribute(std::string_view name, std::span<const std::int64_t> values) {
  write_array_attribute(handle_.id(), name, values, describe(""));
}

void Group::write_dataset_attribute(std::string_view dataset, std::string_view name, std::string_view value) {
  Handle object(check_id(H5Oopen(handle_.id(), std::string(dataset).c_str(), H5P_DEFAULT),
                         fmt::format("cannot open {}", describe(dataset))));
  Handle type = string_type(value.size());
  Handle space(check_id(H5Screate(H5S_SCALAR), "H5Screate"));
  std::string buffer(std::max<std::size_t>(value.size(), 1), '\0');
  std::memcpy(buffer.data(), value.data(), value.size());
  replace_attribute(object.id(), name, type.id(), space.id(), buffer.data(), describe(dataset));
}

bool Group::has_attribute(std::string_view name) const {
  const htri_t found = H5Aexists(handle_.id(), std::string(name).c_str());
  H5Eclear2(H5E_DEFAULT);
  return found > 0;
}

std::string Group::read_string_attribute(std::string_view name) const {
  Handle attribute = open_attribute(handle_.id(), name, describe(""));
  Handle type(check_id(H5Aget_type(attribute.id()), "H5Aget_type"));
  if (H5Tget_class(type.id()) != H5T_STRING)
    throw IoError(fmt::format("{}: attribute '{}' is not a string", describe(""), name));
  if (H5Tis_variable_str(type.id()) > 0) {
    Handle memory_type(check_id(H5Tcopy(H5T_C_S1), "H5Tcopy"));
    check(H5Tset_size(memory_type.id(), H5T_VARIABLE), "H5Tset_size");
    char* value = nullptr;
    check(H5Aread(attribute.id(), memory_type.id(), &value), fmt::format("{}: cannot read '{}'", describe(""), name));
    std::string text = value != nullptr ? value : "";
    H5free_memory(value);
    return text;
  }
  std::string text(H5Tget_size(type.id()), '\0');
  check(H5Aread(attribute.id(), type.id(), text.data()), fmt::format("{}: cannot read '{}'", describe(""), name));
  text.resize(std::strlen(text.c_str()));
  return text;
}

std::int64_t Group::read_int_attribute(std::string_view name) const {
  const auto values = read_array_attribute<std::int64_t>(handle_.id(), name, describe(""));
  if (values.size() != 1) throw IoError(fmt::format("{}: attribute '{}' is not a scalar", describe(""), name));
  return values[0];
}

double Group::read_double_attribute(std::string_view name) const {
  const auto values = read_array_attribute<double>(handle_.id(), name, describe(""));
  if (values.size() != 1) throw IoError(fmt::format("{}: attribute '{}' is not a scalar", describe(""), name));
  return values[0];
}

std::vector<double> Group::read_double_array_attribute(std::string_view name) const {
  return read_array_attribute<double>(handle_.id(), name, describe(""));
}

// ---------------------------------------------------------------- File

bool is_hdf5_file(const std::filesystem::path& path) {
  std::ifstream stream(path, std::ios::binary);
  char signature[8] = {};
  if (!stream.read(signature, sizeof signature)) return false;
  return std::memcmp(signature, "\x89HDF\r\n\x1a\n", 8) == 0;
}

File::File(std::filesystem::path path, std::filesystem::path physical, comm::Communicator& comm, bool writable)
    : path_(std::move(path)),
      physical_(std::move(physical)),
      comm_(&comm),
      parallel_(comm.uses_parallel_hdf5()),
      writable_(writable),
      uncaught_at_open_(std::uncaught_exceptions()) {
  silence_automatic_error_printing();
  Handle access(check_id(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate"));
  if (parallel_) comm.configure_hdf5_file_access(access.id());
  // Close every object of the file with it, so a commit() is not refused because some Group
  // object is still alive in the caller's scope.
  check(H5Pset_fclose_degree(access.id(), H5F_CLOSE_STRONG), "H5Pset_fclose_degree");
  if (writable) {
    std::error_code ignored;
    if (comm.rank() == 0 && !physical_.parent_path().empty()) std::filesystem::create_directories(physical_.parent_path(), ignored);
    comm.barrier();
    handle_ = Handle(check_id(H5Fcreate(physical_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, access.id()),
                              fmt::format("cannot create HDF5 file '{}'", physical_.string())));
  } else {
    handle_ = Handle(check_id(H5Fopen(physical_.c_str(), H5F_ACC_RDONLY, access.id()),
                              fmt::format("cannot open HDF5 file '{}'", physical_.string())));
  }
  read_transfer_ = Handle(check_id(H5Pcreate(H5P_DATASET_XFER), "H5Pcreate"));
  write_transfer_ = Handle(check_id(H5Pcreate(H5P_DATASET_XFER), "H5Pcreate"));
  if (parallel_) {
    // Reads are collective: where every rank reads the same rows (dictionaries, centroids) the
    // MPI-IO layer reads them once. Each rank's rows of a dataset are one contiguous block of
    // the file, which aggregation cannot improve, so raw data is written independently: HDF5's
    // collective path for chunked datasets wrote an 819 MB model in 1.7 s (median) where
    // independent writes of the same bytes took 0.25 s at 1 rank, 1.8 and 1.3 s at 2 ranks on one
    // node (Open MPI's OMPIO, ext4; README).
    // Metadata is still written collectively (configure_hdf5_file_access).
    check(H5Pset_dxpl_mpio(read_transfer_.id(), H5FD_MPIO_COLLECTIVE), "H5Pset_dxpl_mpio");
    check(H5Pset_dxpl_mpio(write_transfer_.id(), H5FD_MPIO_INDEPENDENT), "H5Pset_dxpl_mpio");
  }
}

File File::create(const std::filesystem::path& path, comm::Communicator& comm) {
  return File(path, temporary_path_for(path), comm, true);
}

File File::open(const std::filesystem::path& path, comm::Communicator& comm) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error))
    throw IoError(fmt::format("'{}' does not exist or is not a regular file", path.string()));
  if (!is_hdf5_file(path)) throw IoError(fmt::format("'{}' is not an HDF5 file", path.string()));
  return File(path, path, comm, false);
}

File::File(File&& other) noexcept
    : path_(std::move(other.path_)),
      physical_(std::move(other.physical_)),
      comm_(other.comm_),
      handle_(std::move(other.handle_)),
      read_transfer_(std::move(other.read_transfer_)),
      write_transfer_(std::move(other.write_transfer_)),
      parallel_(other.parallel_),
      writable_(other.writable_),
      committed_(other.committed_),
      uncaught_at_open_(other.uncaught_at_open_),
      stats_(other.stats_) {
  other.committed_ = true;  // the moved-from object must not remove the temporary
}

File::~File() {
  const bool unwinding = std::uncaught_exceptions() > uncaught_at_open_;
  if (handle_.valid()) {
    if (parallel_ && unwinding)
      handle_.release();  // see the header: a collective close could hang; MPI_Abort follows
    else
      handle_.reset();
  }
  // An abandoned write (an error on the way, a full disk) may leave the file open inside HDF5,
  // whose clean-up at exit would then crash closing it: end the process without that clean-up.
  if (writable_ && !committed_) request_exit_without_library_cleanup();
  if (writable_ && !committed_ && comm_->rank() == 0) {
    std::error_code ignored;
    std::filesystem::remove(physical_, ignored);
  }
}

Group File::root() {
  Handle group(check_id(H5Gopen2(handle_.id(), "/", H5P_DEFAULT), "cannot open the root group"));
  return Group(*this, std::move(group), "/");
}

void File::close_handle() {
  if (!handle_.valid()) return;
  read_transfer_.reset();
  write_transfer_.reset();
  const hid_t id = handle_.release();
  if (H5Fclose(id) < 0) {
    // HDF5 keeps a file whose close failed (a full disk) and crashes when its own clean-up
    // closes it again; the process must end without that clean-up (see app/main.cpp).
    request_exit_without_library_cleanup();
    check(-1, fmt::format("cannot close '{}'", physical_.string()));
  }
}

void File::close() { close_handle(); }

void File::commit() {
  std::string close_failure;
  try {
    close_handle();
  } catch (const std::exception& error) {
    close_failure = error.what();
  }
  if (!writable_ || committed_) {
    if (!close_failure.empty()) throw IoError(close_failure);
    return;
  }
  // Every rank learns of a failed close (the temporary is incomplete): nothing is published.
  if (comm_->allreduce<std::int32_t>(close_failure.empty() ? 1 : 0, comm::ReduceOp::min) == 0) {
    if (comm_->rank() == 0) {
      std::error_code ignored;
      std::filesystem::remove(physical_, ignored);
    }
    committed_ = true;
    throw IoError(!close_failure.empty() ? close_failure : fmt::format("writing '{}' failed on another rank", path_.string()));
  }
  // Published only if every rank's launcher is still there: a job whose mpirun or srun was killed
  // must not replace the previous model with the work of its orphaned ranks.
  if (comm_->allreduce<std::int32_t>(launcher_alive() ? 1 : 0, comm::ReduceOp::min) == 0) {
    if (comm_->rank() == 0) {
      std::error_code ignored;
      std::filesystem::remove(physical_, ignored);
    }
    committed_ = true;
    throw IoError(fmt::format("the job's launcher (mpirun or srun) has died: '{}' is not published", path_.string()));
  }
  std::int32_t ok = 1;
  std::string failure;
  if (comm_->rank() == 0) {
    try {
      rename_into_place(physical_, path_);
    } catch (const std::exception& error) {
      ok = 0;
      failure = error.what();
    }
  }
  comm_->broadcast(std::span(&ok, 1), 0);
  committed_ = true;
  if (ok == 0)
    throw IoError(comm_->rank() == 0 ? failure : fmt::format("cannot rename '{}' into place", physical_.string()));
}

}  // namespace mpiseg::h5
