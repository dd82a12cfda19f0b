#pragma once
/// Points for K-means from [input]: a dense matrix (format = "matrix": CSV with one row per point,
/// no header, optional key and weight columns; or FILE.h5:/dataset), or the /features group of a
/// model file (format = "features").
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "mpiseg/comm/communicator.hpp"
#include "mpiseg/core/config.hpp"
#include "mpiseg/features/features.hpp"
#include "mpiseg/kmeans/assignment.hpp"
#include "mpiseg/kmeans/kmeans.hpp"
#include "mpiseg/kmeans/settings.hpp"
#include "mpiseg/pipeline/input.hpp"

namespace mpiseg::pipeline {

/// [input] as load_points reads it: the path (a CSV, FILE.h5:/dataset or a model file), the CSV
/// delimiter, and the key and weight columns of a matrix.
struct PointInputSettings {
  InputSource source = InputSource::matrix;
  std::string path;
  char delimiter = ',';
  std::string key_column;     // CSV: non-empty: the first column is the key; HDF5: a 1-D dataset
  std::string weight_column;  // CSV: non-empty: the column after the key; HDF5: a 1-D dataset

  /// ConfigError unless [input] format is "matrix" or "features".
  static PointInputSettings from_job(const JobConfig& job);
};

/// The [input] keys only points have: key_column, weight_column.
std::span<const KeySpec> point_input_keys();

struct PointTable {
  std::vector<double> values;  // rows x cols, this rank's rows (in input order across ranks)
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<std::uint64_t> keys;  // the key column, or the 0-based row number in the input
  std::vector<double> weights;      // empty: unweighted
  std::vector<std::string> names;   // column names ("x0", "x1", ... for a plain matrix)
  bool from_features = false;
  features::FeatureTable features;  // when from_features: the whole /features group (for the model)

  kmeans::Points points() const { return kmeans::Points{values, rows, cols, keys, weights}; }
};

/// Collective. Errors (InputError) name the file and the line or dataset at fault.
PointTable load_points(const JobConfig& job, comm::Communicator& comm);

/// Collective (every rank reads the small file). With [kmeans] init = "file", the centroids of
/// init_file (a CSV of rows, FILE.h5:/dataset, or a model file's /kmeans/centroids_scaled),
/// checked against every k of the settings and the d columns; nothing for any other init.
std::optional<kmeans::InitialCentroids> read_initial_centroids(const kmeans::KMeansSettings& settings, std::size_t d, comm::Communicator& comm);

/// Collective. Throws InputError if a key appears twice across ranks.
void check_unique_keys(std::span<const std::uint64_t> keys, comm::Communicator& comm);

}  // namespace mpiseg::pipeline
