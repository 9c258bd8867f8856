#include <stdexcept>

#include "twisted/application/twist.hpp"

namespace twisted::application {

const std::vector<std::string>& PluginOptions::all(std::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end()) {
    throw std::out_of_range("PluginOptions: no option named '" + std::string(name) + "'");
  }
  return it->second;
}

const std::string& PluginOptions::get(std::string_view name) const {
  const auto& values = all(name);
  if (values.empty()) throw UsageError("--" + std::string(name) + " has no value");
  return values.back();
}

void PluginOptions::set(std::string name, std::vector<std::string> values) {
  values_[std::move(name)] = std::move(values);
}

}  // namespace twisted::application
