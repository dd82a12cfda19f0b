#pragma once
/// RAII over the HDF5 C API. Every identifier has exactly one owner (Handle); every C call goes
/// through check(), which throws IoError carrying HDF5's own error stack; files opened through a
/// parallel communicator use the MPI-IO driver: collective metadata and reads, independent writes
/// of each rank's block.
///
///   auto file = h5::File::create("model.h5", comm);         // writes model.h5.tmp
///   h5::Group kmeans = file.root().create_group("kmeans");
///   kmeans.write_attribute("k", std::int64_t{8});
///   h5::write_rows(kmeans, "centroids", ...);                 // datasets.hpp
///   file.commit();                                             // renames onto model.h5
#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "mpiseg/comm/communicator.hpp"

namespace mpiseg::h5 {

/// Throws IoError("what: <HDF5 error stack>") when `status` is negative.
void check(herr_t status, std::string_view what);
/// Same for calls that return an identifier.
hid_t check_id(hid_t id, std::string_view what);

/// Sole owner of one HDF5 identifier of any kind (file, group, dataset, dataspace, datatype,
/// property list, attribute). Destruction releases it; destructors never throw.
class Handle {
 public:
  Handle() = default;
  /// Takes ownership of `id`, which must be valid (wrap the creating call in check_id).
  explicit Handle(hid_t id) noexcept : id_(id) {}
  ~Handle() { reset(); }
  Handle(Handle&& other) noexcept : id_(other.release()) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = other.release();
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  hid_t id() const noexcept { return id_; }
  bool valid() const noexcept { return id_ >= 0; }
  hid_t release() noexcept {
    const hid_t id = id_;
    id_ = H5I_INVALID_HID;
    return id;
  }
  void reset() noexcept;

 private:
  hid_t id_ = H5I_INVALID_HID;
};

template <class T>
hid_t native_type() {
  if constexpr (std::is_same_v<T, std::int8_t> || std::is_same_v<T, char>) return H5T_NATIVE_INT8;
  else if constexpr (std::is_same_v<T, std::uint8_t>) return H5T_NATIVE_UINT8;
  else if constexpr (std::is_same_v<T, std::int16_t>) return H5T_NATIVE_INT16;
  else if constexpr (std::is_same_v<T, std::uint16_t>) return H5T_NATIVE_UINT16;
  else if constexpr (std::is_same_v<T, std::int32_t>) return H5T_NATIVE_INT32;
  else if constexpr (std::is_same_v<T, std::uint32_t>) return H5T_NATIVE_UINT32;
  else if constexpr (std::is_same_v<T, std::int64_t>) return H5T_NATIVE_INT64;
  else if constexpr (std::is_same_v<T, std::uint64_t>) return H5T_NATIVE_UINT64;
  else if constexpr (std::is_same_v<T, float>) return H5T_NATIVE_FLOAT;
  else if constexpr (std::is_same_v<T, double>) return H5T_NATIVE_DOUBLE;
  else static_assert(sizeof(T) == 0, "no HDF5 type for this C++ type");
}

/// How the transfers through a file went, as HDF5 reports them; tests assert that parallel reads
/// were collective and writes independent, as asked.
struct TransferStats {
  std::uint64_t collective_reads = 0;
  std::uint64_t independent_reads = 0;
  std::uint64_t collective_writes = 0;
  std::uint64_t independent_writes = 0;
};

class File;

/// A group (or the root group) of an open file. Holds a pointer to its File for the
/// communicator and the transfer settings; a Group must not outlive its File.
class Group {
 public:
  Group(File& file, Handle handle, std::string path) : file_(&file), handle_(std::move(handle)), path_(std::move(path)) {}

  Group create_group(std::string_view name);
  Group open_group(std::string_view name) const;
  /// True if a link `name` (a dataset or group, relative path allowed) exists.
  bool exists(std::string_view name) const;
  /// Names of the direct members, sorted.
  std::vector<std::string> members() const;

  void write_attribute(std::string_view name, std::string_view value);
  void write_attribute(std::string_view name, const char* value) { write_attribute(name, std::string_view(value)); }
  void write_attribute(std::string_view name, std::int64_t value);
  void write_attribute(std::string_view name, double value);
  void write_attribute(std::string_view name, std::span<const double> values);
  void write_attribute(std::string_view name, std::span<const std::int64_t> values);
  bool has_attribute(std::string_view name) const;
  std::string read_string_attribute(std::string_view name) const;
  std::int64_t read_int_attribute(std::string_view name) const;
  double read_double_attribute(std::string_view name) const;
  std::vector<double> read_double_array_attribute(std::string_view name) const;

  /// Attribute on a member dataset (units, meanings).
  void write_dataset_attribute(std::string_view dataset, std::string_view name, std::string_view value);

  hid_t id() const noexcept { return handle_.id(); }
  File& file() const noexcept { return *file_; }
  const std::string& path() const noexcept { return path_; }
  /// "file.h5:/kmeans/centroids" for messages.
  std::string describe(std::string_view member) const;

 private:
  File* file_;
  Handle handle_;
  std::string path_;
};

/// An HDF5 file opened through a communicator: with MPI, the MPI-IO driver (collective reads,
/// independent writes); with the serial communicator, the default POSIX driver.
class File {
 public:
  /// Collective. Creates `path.tmp` (truncating it); commit() renames it onto `path`. A File
  /// that is never committed leaves `path` untouched.
  static File create(const std::filesystem::path& path, comm::Communicator& comm);
  /// Collective. Opens an existing file read-only; IoError names the file and says whether it
  /// is missing or not HDF5.
  static File open(const std::filesystem::path& path, comm::Communicator& comm);

  File(File&&) noexcept;
  File& operator=(File&&) = delete;
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  /// Closes the file. A parallel file that is being abandoned while an exception unwinds is not
  /// closed here: closing is collective and the other ranks may not be here; main aborts the job.
  ~File();

  Group root();
  /// Collective: flushes, closes and (for create) renames onto the final path.
  void commit();
  /// Collective: closes a file opened for reading.
  void close();

  comm::Communicator& comm() const noexcept { return *comm_; }
  bool parallel() const noexcept { return parallel_; }
  /// Data-transfer property lists of parallel files: collective MPI-IO reads, independent raw-data
  /// writes (each rank writes one contiguous block per dataset; see the constructor).
  hid_t read_transfer_list() const noexcept { return read_transfer_.id(); }
  hid_t write_transfer_list() const noexcept { return write_transfer_.id(); }
  const std::filesystem::path& path() const noexcept { return path_; }
  TransferStats& transfer_stats() noexcept { return stats_; }

 private:
  File(std::filesystem::path path, std::filesystem::path physical, comm::Communicator& comm, bool writable);
  void close_handle();

  std::filesystem::path path_;      // the name users see
  std::filesystem::path physical_;  // path.tmp while being written
  comm::Communicator* comm_;
  Handle handle_;
  Handle read_transfer_;
  Handle write_transfer_;
  bool parallel_ = false;
  bool writable_ = false;
  bool committed_ = false;
  int uncaught_at_open_ = 0;
  TransferStats stats_;
};

/// True if `path` exists and carries the HDF5 signature (checked without opening it).
bool is_hdf5_file(const std::filesystem::path& path);

}  // namespace mpiseg::h5
