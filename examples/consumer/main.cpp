// A tiny program linking an installed schedkit: builds a domain tree.
#include <schedkit/domain.h>
#include <schedkit/topology.h>

#include <cstdio>
#include <string>

int main() {
    auto topo = schedkit::Topology::synthetic("pack:2 l3:2 core:4 pu:2");
    auto tree = schedkit::DomainTree::build(topo);
    std::string levels;
    for (const auto& l : tree.levels())
        levels += " " + l.name;
    std::printf("schedkit consumer: %d cpus, levels%s\n", topo.num_cpus(), levels.c_str());
    return 0;
}
