#include "compare_split.h"

namespace schedkit::cli {

std::vector<std::string> split_policies(const std::string& list) {
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos <= list.size()) {
        size_t comma = list.find(',', pos);
        std::string piece = list.substr(pos, comma == std::string::npos ? comma : comma - pos);
        bool option = piece.find('=') != std::string::npos && piece.find(':') == std::string::npos;
        if (option && !out.empty())
            out.back() += "," + piece;
        else
            out.push_back(piece);
        if (comma == std::string::npos)
            break;
        pos = comma + 1;
    }
    return out;
}

}  // namespace schedkit::cli
